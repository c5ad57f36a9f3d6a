// Package k8stest starts a real loopback-only Kubernetes control plane for
// tests: etcd, kube-apiserver, kube-controller-manager and kube-scheduler, with
// kwok playing two nodes, all on 127.0.0.1 and on free ports, by running
// scripts/k8s-testenv.sh. Deployments, ReplicaSets, Jobs, Services and
// rollouts are driven by the real controllers; kwok only sets pod status.
//
// The cluster (see scripts/k8s-testenv.sh for details):
//   - nodes kwok-node-0 (labels type=kwok, nonstop.dev/build=true) and
//     kwok-node-1 (type=kwok);
//   - pods labelled kwok.test/not-ready=true run but never turn Ready;
//     pods of a Job complete;
//   - the Gateway API standard CRDs are installed and Established.
//
// The binaries come from scripts/k8s-build.sh (which `make test` runs) in
// ${NONSTOP_K8S_CACHE:-/var/cache/nonstop/k8s}/bin. Without them Start fails,
// saying what is missing and how to build it: a test using this package fails
// rather than skips. A cluster takes about 5 s to start and ~550 MB of RSS.
//
// The package uses the standard library only.
package k8stest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Binaries are the commands scripts/k8s-testenv.sh runs, found in BinDir.
var Binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// Cluster is a running control plane. Server, CAFile and Token are read
// from the kubeconfig, for clients that do not read kubeconfigs.
type Cluster struct {
	Kubeconfig string // the admin kubeconfig (token auth, group system:masters)
	DataDir    string // certs, keys, logs (logs/<component>.log), etcd data; removed by Stop

	Server string // https://127.0.0.1:<port>
	CAFile string // the apiserver's self-signed certificate, to trust as CA
	Token  string // the admin's bearer token

	script string
	env    []string

	stopOnce sync.Once
	stopErr  error
}

// BinDir is where the binaries are expected:
// ${NONSTOP_K8S_CACHE:-/var/cache/nonstop/k8s}/bin, as scripts/k8s-build.sh
// writes them.
func BinDir() string {
	cache := os.Getenv("NONSTOP_K8S_CACHE")
	if cache == "" {
		cache = "/var/cache/nonstop/k8s"
	}
	return filepath.Join(cache, "bin")
}

// CheckBinaries reports, in an error that says how to build them, which
// binaries are missing from BinDir and which commands the script needs
// (bash, curl, openssl, go) are not on PATH. Nil when all is there.
func CheckBinaries() error {
	dir := BinDir()
	var missing []string
	for _, b := range Binaries {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, b)
		}
	}
	var tools []string
	for _, c := range []string{"bash", "curl", "openssl", "go"} {
		if _, err := exec.LookPath(c); err != nil {
			tools = append(tools, c)
		}
	}
	var msg []string
	if len(missing) > 0 {
		msg = append(msg, fmt.Sprintf("missing Kubernetes test binaries in %s: %s", dir, strings.Join(missing, ", ")))
	}
	if len(tools) > 0 {
		msg = append(msg, fmt.Sprintf("missing commands on PATH: %s", strings.Join(tools, ", ")))
	}
	if len(msg) == 0 {
		return nil
	}
	return fmt.Errorf("k8stest: %s; build them with scripts/k8s-build.sh (or make test, which builds them; about 12 min the first time)",
		strings.Join(msg, "; "))
}

// Start starts a cluster on free loopback ports with a new temporary data
// directory, and returns once it is usable: apiserver ready, nodes Ready and
// untainted, default ServiceAccount and Gateway API CRDs there. ctx bounds
// the start-up only. Stop the cluster with Stop; should the test process die
// first, a watchdog started by the script stops it within a second or so.
func Start(ctx context.Context) (*Cluster, error) {
	if err := CheckBinaries(); err != nil {
		return nil, err
	}
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	script := filepath.Join(root, "scripts", "k8s-testenv.sh")
	if _, err := os.Stat(script); err != nil {
		return nil, fmt.Errorf("k8stest: %w", err)
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	data, err := os.MkdirTemp("", "k8stest-")
	if err != nil {
		return nil, fmt.Errorf("k8stest: %w", err)
	}
	token, err := randomToken()
	if err != nil {
		return nil, err
	}
	c := &Cluster{DataDir: data, script: script}
	c.env = append(os.Environ(),
		"BIN="+BinDir(),
		"DATA="+data,
		"ETCD_PORT="+strconv.Itoa(ports[0]),
		"ETCD_PEER_PORT="+strconv.Itoa(ports[1]),
		"API_PORT="+strconv.Itoa(ports[2]),
		"NODES=2",
		"TOKEN="+token,
		"OWNER_PID="+strconv.Itoa(os.Getpid()),
	)

	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", script, "up")
	cmd.Env = c.env
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		// The script stops what it started when it fails; not when ctx
		// killed it. down does both, and removes the data.
		_ = c.Stop()
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = fmt.Errorf("%w (%v)", ctxErr, err)
		}
		return nil, fmt.Errorf("k8stest: %s up: %v\n%s", script, err, strings.TrimSpace(stderr.String()))
	}
	c.Kubeconfig = strings.TrimSpace(stdout.String())
	if err := c.readKubeconfig(); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return c, nil
}

// StartT starts a cluster for t and stops it when t ends (t.Cleanup). It
// fails t (t.Fatal, never Skip) when the cluster cannot start, e.g. when the
// binaries have not been built.
func StartT(t testing.TB) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	t0 := time.Now()
	c, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("k8stest: cluster up in %v at %s (kubeconfig %s)", time.Since(t0).Round(time.Millisecond), c.Server, c.Kubeconfig)
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// Stop stops every process of the cluster and removes DataDir. It may be
// called more than once; later calls return the first one's result.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		cmd := exec.Command("bash", c.script, "down")
		cmd.Env = c.env
		if out, err := cmd.CombinedOutput(); err != nil {
			c.stopErr = fmt.Errorf("k8stest: %s down: %v\n%s", c.script, err, out)
		}
		if err := os.RemoveAll(c.DataDir); err != nil && c.stopErr == nil {
			c.stopErr = fmt.Errorf("k8stest: %w", err)
		}
	})
	return c.stopErr
}

// HTTPClient returns a client that trusts CAFile and sends Token with each
// request: enough to talk to the apiserver with net/http alone.
func (c *Cluster) HTTPClient() (*http.Client, error) {
	pem, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("k8stest: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("k8stest: no certificate in %s", c.CAFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	return &http.Client{Transport: bearer{token: c.Token, next: tr}, Timeout: 30 * time.Second}, nil
}

type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// kubeconfigField matches `key: value` or `key: "value"` in the flow-style
// kubeconfig that scripts/k8s-testenv.sh writes.
func kubeconfigField(doc, key string) string {
	m := regexp.MustCompile(`\b` + regexp.QuoteMeta(key) + `:\s*"?([^",}\s]+)"?`).FindStringSubmatch(doc)
	if m == nil {
		return ""
	}
	return m[1]
}

func (c *Cluster) readKubeconfig() error {
	b, err := os.ReadFile(c.Kubeconfig)
	if err != nil {
		return fmt.Errorf("k8stest: reading the kubeconfig the script printed: %w", err)
	}
	doc := string(b)
	c.Server = kubeconfigField(doc, "server")
	c.CAFile = kubeconfigField(doc, "certificate-authority")
	c.Token = kubeconfigField(doc, "token")
	if c.Server == "" || c.CAFile == "" || c.Token == "" {
		return fmt.Errorf("k8stest: %s lacks server, certificate-authority or token:\n%s", c.Kubeconfig, doc)
	}
	return nil
}

// moduleRoot walks up from the working directory to the directory holding
// go.mod (a test runs in its package's directory).
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("k8stest: %w", err)
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("k8stest: no go.mod in %s or above it", wd)
		}
		dir = parent
	}
}

// freePorts returns n distinct loopback ports that were free a moment ago
// (all held open together, so they differ).
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("k8stest: finding a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randomToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", errors.Join(errors.New("k8stest: random token"), err)
	}
	return hex.EncodeToString(b), nil
}
