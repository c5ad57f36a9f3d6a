package server

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy/daemon"

	"github.com/nonstopdev/nonstop/internal/rollout"
)

// ensureProxy connects to the data folder's proxy, starting `nonstop proxy`
// as its own process (own session, so it outlives the control plane) when
// none answers.
func ensureProxy(ctx context.Context, cfg Config) (*daemon.Client, error) {
	c := daemon.NewClient(SocketPath(cfg.DataDir))
	if proxyAlive(ctx, c) {
		return c, nil
	}
	if err := startProxy(cfg); err != nil {
		c.Close()
		return nil, err
	}
	deadline := time.Now().Add(10 * time.Second)
	for !proxyAlive(ctx, c) {
		if time.Now().After(deadline) {
			c.Close()
			return nil, fmt.Errorf("start proxy: %w after 10s; see %s", errProxyDown, proxyLog(cfg.DataDir))
		}
		select {
		case <-ctx.Done():
			c.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return c, nil
}

func proxyLog(data string) string { return filepath.Join(data, "proxy", "proxy.log") }

func proxyAlive(ctx context.Context, c *daemon.Client) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := c.Routes(ctx)
	return err == nil
}

func startProxy(cfg Config) error {
	args := cfg.ProxyCommand
	if len(args) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find nonstop's executable to start the proxy: %w", err)
		}
		args = []string{exe, "proxy"}
	}
	args = append(args, "--data", cfg.DataDir, "--http", cfg.HTTPAddr, "--reserve", cfg.APIAddr)
	args = append(args, httpsArgs(cfg)...)
	if err := os.MkdirAll(filepath.Dir(proxyLog(cfg.DataDir)), 0o700); err != nil {
		return err
	}
	logf, err := os.OpenFile(proxyLog(cfg.DataDir), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open proxy log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start proxy %v: %w", args, err)
	}
	cfg.Logger.Info("started the proxy", "pid", cmd.Process.Pid, "http", cfg.HTTPAddr, "log", proxyLog(cfg.DataDir))
	// The proxy is not our child to wait for: it outlives us. Reap it if it
	// exits while we run, so it leaves no zombie.
	go cmd.Wait()
	return nil
}

// watchProxy restarts the proxy if it stops answering, and gives it every
// route again.
func watchProxy(ctx context.Context, cfg Config, c *daemon.Client, engine *rollout.Engine) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	misses := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if proxyAlive(ctx, c) {
			misses = 0
			continue
		}
		if misses++; misses < 3 || ctx.Err() != nil {
			continue
		}
		cfg.Logger.Warn("the proxy stopped answering; starting it again")
		if err := startProxy(cfg); err != nil {
			cfg.Logger.Error("restart proxy", "err", err)
			continue
		}
		for i := 0; i < 100 && !proxyAlive(ctx, c); i++ {
			time.Sleep(50 * time.Millisecond)
		}
		if err := engine.SyncRoutes(ctx); err != nil {
			cfg.Logger.Error("give routes to the restarted proxy", "err", err)
		}
		misses = 0
	}
}

// httpsArgs are the proxy's HTTPS flags for cfg (none when HTTPS is off).
func httpsArgs(cfg Config) []string {
	if cfg.HTTPSAddr == "" {
		return nil
	}
	args := []string{"--https", cfg.HTTPSAddr, "--domain-suffix", cfg.DomainSuffix}
	for _, f := range []struct{ name, val string }{
		{"--tls-cert", cfg.TLS.CertFile}, {"--tls-key", cfg.TLS.KeyFile},
		{"--acme-email", cfg.TLS.Email}, {"--acme-directory", cfg.TLS.Directory}, {"--acme-ca-roots", cfg.TLS.CARoots},
	} {
		if f.val != "" {
			args = append(args, f.name, f.val)
		}
	}
	if cfg.RedirectHTTPS {
		args = append(args, "--redirect-https")
	}
	return args
}
