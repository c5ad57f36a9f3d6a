// Package server wires nonstop's control plane: the store, the process
// runtime, the proxy (started as its own process), the rollout engine and
// the API, and brings every app back to its recorded state at start.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"time"

	"github.com/nonstopdev/nonstop/internal/api"
	"github.com/nonstopdev/nonstop/internal/atomicfile"
	"github.com/nonstopdev/nonstop/internal/auth"
	"github.com/nonstopdev/nonstop/internal/fleet"
	kubefleet "github.com/nonstopdev/nonstop/internal/fleet/kube"
	"github.com/nonstopdev/nonstop/internal/fleet/local"
	"github.com/nonstopdev/nonstop/internal/history"
	"github.com/nonstopdev/nonstop/internal/metrics"
	"github.com/nonstopdev/nonstop/internal/notify"
	"github.com/nonstopdev/nonstop/internal/pipeline"
	"github.com/nonstopdev/nonstop/internal/proxy/certs"
	"github.com/nonstopdev/nonstop/internal/rollout"
	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/runtime/process"
	"github.com/nonstopdev/nonstop/internal/store"
)

// Config is what `nonstop server` takes.
type Config struct {
	DataDir      string
	APIAddr      string // default 127.0.0.1:7070
	HTTPAddr     string // the proxy's listener, default :8080
	DomainSuffix string // default localhost

	// HTTPS for the apps, passed on to the proxy (see docs/tls.md). The
	// proxy sets TLS.CacheDir and TLS.DomainSuffix itself.
	HTTPSAddr     string // off when empty
	RedirectHTTPS bool
	TLS           certs.Config

	Logger *slog.Logger
	// Out receives the messages meant for the operator (the admin token).
	Out io.Writer
	// ProxyCommand starts `nonstop proxy`; default: this executable.
	ProxyCommand []string
	Version      string
	// Containers is how to reach Docker Engine and the registry.
	Containers ContainerConfig
	// Cluster is how to reach Kubernetes, for apps with runtime kubernetes.
	Cluster ClusterConfig
	// NotifyURLs get a JSON POST when a rollout starts, passes a step,
	// pauses, fails, rolls back or succeeds.
	NotifyURLs []string
	// BuildWorkers is how many builds run at once (default 2).
	BuildWorkers int
	// ImagePrefixes are image references members may deploy with deploy
	// --image besides their apps' own (REGISTRY/APP).
	ImagePrefixes []string
	// BuildLabels are added to the labels of this server's build workers
	// (local, linux, the CPU architecture, and docker when the Engine answers).
	BuildLabels []string
	// BuildEnv is added to every build's environment (a module proxy, a
	// package mirror, a cache the apps share).
	BuildEnv map[string]string
	// Ready, when set, is called once the API is serving.
	Ready func(apiURL string)
}

func (c *Config) defaults() {
	if c.APIAddr == "" {
		c.APIAddr = "127.0.0.1:7070"
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = ":8080"
	}
	if c.DomainSuffix == "" {
		c.DomainSuffix = "localhost"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Out == nil {
		c.Out = os.Stderr
	}
}

// Paths of the files a data folder holds.
func storePath(data string) string    { return filepath.Join(data, "nonstop.db") }
func tokenPath(data string) string    { return filepath.Join(data, "admin.token") }
func instancesDir(data string) string { return filepath.Join(data, "instances") }

// SocketPath is the proxy's control socket in a data folder.
func SocketPath(data string) string { return filepath.Join(data, "proxy", "control.sock") }

// CertsDir is where the proxy keeps ACME certificates in a data folder.
func CertsDir(data string) string { return filepath.Join(data, "proxy", "certs") }

// StateFile is the proxy's route state file in a data folder.
func StateFile(data string) string { return filepath.Join(data, "proxy", "routes.json") }

// AdminToken reads the admin token a server wrote in its data folder.
func AdminToken(data string) (string, error) {
	b, err := os.ReadFile(tokenPath(data))
	if err != nil {
		return "", err
	}
	return string(trimNL(b)), nil
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// Run serves until ctx ends. Stopping it stops the control plane only: the
// proxy and the instances keep serving, and the next Run adopts them.
func Run(ctx context.Context, cfg Config) error {
	cfg.defaults()
	log := cfg.Logger
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data folder: %w", err)
	}
	unlock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer unlock()

	st, err := store.Open(ctx, storePath(cfg.DataDir))
	if err != nil {
		return err
	}
	defer st.Close()
	if err := bootstrapAdmin(ctx, st, cfg); err != nil {
		return err
	}

	px, err := ensureProxy(ctx, cfg)
	if err != nil {
		return err
	}
	defer px.Close()

	procRT, err := process.New(process.Options{Dir: instancesDir(cfg.DataDir), Logger: log})
	if err != nil {
		return fmt.Errorf("process runtime: %w", err)
	}
	scope, err := installID(cfg.DataDir)
	if err != nil {
		procRT.Close()
		return err
	}
	accounts, err := isolation(cfg, scope)
	if err != nil {
		procRT.Close()
		return err
	}
	staticBin, err := staticServer(cfg.DataDir, accounts)
	if err != nil {
		procRT.Close()
		return err
	}
	contRT, imgs, closeImages, err := containers(ctx, cfg.Containers, scope, log)
	if err != nil {
		procRT.Close()
		return err
	}
	defer closeImages()
	kube, err := cluster(ctx, cfg.Cluster, log)
	if err != nil {
		procRT.Close()
		return err
	}
	rt := runtime.NewMulti(procRT, contRT)
	defer rt.Close()
	notifier, err := notify.New(cfg.NotifyURLs, notify.Options{Logger: log})
	if err != nil {
		return fmt.Errorf("--notify: %w", err)
	}
	defer notifier.Close()

	var builds *pipeline.ClusterBuilds
	if kube != nil {
		if builds, err = clusterBuilds(cfg.Cluster, kube, cfg.Containers.Registry.Host, "http://"+cfg.APIAddr, log); err != nil {
			return err
		}
	}
	// A nil *images must reach the fleet and the pipeline as no images.
	var runImages local.Images
	var buildImages pipeline.ImageBuilder
	if imgs != nil {
		runImages, buildImages = imgs, imgs
	}
	fleets := []fleet.Fleet{
		local.New(local.Config{Store: st, Runtime: rt, Proxy: px, Images: runImages, Logger: log, Accounts: accounts, StaticServer: staticBin}),
		kubefleet.New(kubefleet.Config{Store: st, Cluster: kube, PodNetwork: cfg.Cluster.PodNetwork, Proxy: px, Logger: log}),
	}
	engine := rollout.New(rollout.Config{Store: st, Fleets: fleets, Proxy: px, Logger: log, DataDir: cfg.DataDir, DomainSuffix: cfg.DomainSuffix, ProxyURL: "http://" + cfg.HTTPAddr,
		Notifier: notifier})
	defer engine.Close()

	ln, err := net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		return fmt.Errorf("listen for the API on %s: %w", cfg.APIAddr, err)
	}
	promReg := metrics.NewRegistry(metrics.NewCollector(px, st, metrics.Options{Usage: rt}))
	os.RemoveAll(filepath.Join(cfg.DataDir, "tmp")) // uploads and fetches a crash left
	pl := pipeline.New(pipeline.Config{Store: st, Engine: engine, Logger: log, DataDir: cfg.DataDir, Images: buildImages, Registry: cfg.Containers.Registry.Host,
		BuildWorkers: cfg.BuildWorkers, BuildLabels: buildLabels(cfg.BuildLabels, imgs != nil), ClusterBuilds: builds,
		Accounts: accounts, BuildEnv: cfg.BuildEnv, ProcessNeedsAdmin: accounts == nil})
	defer pl.Close()
	handler := api.New(api.Config{
		Pipeline: pl,
		Store:    st, Engine: engine, Runtime: rt, Proxy: px, Logger: log,
		TempDir: filepath.Join(cfg.DataDir, "tmp"), ProxyURL: "http://" + cfg.HTTPAddr, Version: cfg.Version,
		Metrics: metrics.Handler(promReg, log),
		DataDir: cfg.DataDir, APIURL: "http://" + ln.Addr().String(),
		ImageRepo: cfg.Containers.Registry.Repo, ImagePrefixes: cfg.ImagePrefixes,
	})
	// Streams (events, logs -f) end when the server stops: their contexts
	// derive from reqCtx, cancelled before Shutdown waits for them.
	reqCtx, endRequests := context.WithCancel(context.Background())
	defer endRequests()
	srv := &http.Server{
		BaseContext:       func(net.Listener) context.Context { return reqCtx },
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		// No WriteTimeout: event and log streams stay open for minutes.
	}

	engine.StartHeartbeat()
	if err := engine.FollowFleets(); err != nil {
		ln.Close()
		return fmt.Errorf("follow the pods' endpoints: %w", err)
	}
	if err := engine.Recover(ctx); err != nil {
		ln.Close()
		return fmt.Errorf("recover apps: %w", err)
	}

	// The background work, stopped (and waited for) before Run returns:
	// the proxy's watcher, and the traffic history's sampler.
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	var background sync.WaitGroup
	background.Go(func() { watchProxy(watchCtx, cfg, px, engine) })
	background.Go(func() { history.New(history.Config{Store: st, Proxy: px, Logger: log}).Run(watchCtx) })

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	apiURL := "http://" + ln.Addr().String()
	log.Info("nonstop server ready", "api", apiURL, "apps", "http://APP."+cfg.DomainSuffix+portOf(cfg.HTTPAddr), "data", cfg.DataDir)
	if cfg.Ready != nil {
		cfg.Ready(apiURL)
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		stopWatch()
		background.Wait()
		return fmt.Errorf("API server: %w", err)
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	endRequests()
	srv.Shutdown(shutCtx)
	stopWatch()
	background.Wait()
	log.Info("control plane stopped; apps keep serving (`nonstop shutdown` stops them)")
	return nil
}

func portOf(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "80" {
		return ""
	}
	return ":" + port
}

// bootstrapAdmin creates the admin and its token at first start, prints the
// token once and writes it to DATA/admin.token (0600).
func bootstrapAdmin(ctx context.Context, st *store.Store, cfg Config) error {
	token := auth.NewToken()
	// The file first: a crash between the two leaves a token file that is
	// not (yet) valid, rather than a valid token nobody has.
	tmp := tokenPath(cfg.DataDir) + ".new"
	if err := atomicfile.Write(tmp, []byte(token+"\n"), 0o600); err != nil {
		return fmt.Errorf("write admin token: %w", err)
	}
	created, err := st.Bootstrap(ctx, auth.Hash(token))
	if err != nil || !created {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, tokenPath(cfg.DataDir)); err != nil {
		return fmt.Errorf("write admin token: %w", err)
	}
	fmt.Fprintf(cfg.Out, "nonstop: created the admin token (shown once, also in %s):\n\n    %s\n\n", tokenPath(cfg.DataDir), token)
	return nil
}

var errProxyDown = errors.New("proxy is not answering")

// buildLabels are the labels of this server's build workers.
func buildLabels(extra []string, docker bool) []string {
	labels := []string{"local", goruntime.GOOS, goruntime.GOARCH}
	if docker {
		labels = append(labels, "docker")
	}
	return append(labels, extra...)
}
