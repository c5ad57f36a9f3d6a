package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy/daemon"
	"github.com/nonstopdev/nonstop/internal/runtime"

	"github.com/nonstopdev/nonstop/internal/runtime/docker"
	"github.com/nonstopdev/nonstop/internal/runtime/process"
)

// Shutdown stops everything a data folder runs: the control plane first (so
// nothing restarts instances), then the proxy (which drains its requests),
// then every instance.
func Shutdown(ctx context.Context, data string, out io.Writer) error {
	if pid := ServerPID(data); pid > 0 {
		fmt.Fprintf(out, "stopping the control plane (pid %d)\n", pid)
		syscall.Kill(pid, syscall.SIGTERM)
		for i := 0; ServerPID(data) > 0; i++ {
			if i == 300 {
				return fmt.Errorf("the control plane (pid %d) did not stop in 30s", pid)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	c := daemon.NewClient(SocketPath(data))
	defer c.Close()
	if proxyAlive(ctx, c) {
		fmt.Fprintln(out, "stopping the proxy (in-flight requests finish first)")
		if err := c.Shutdown(ctx); err != nil {
			return fmt.Errorf("stop proxy: %w", err)
		}
		for i := 0; proxyAlive(ctx, c); i++ {
			if i == 600 {
				return fmt.Errorf("the proxy did not stop in 60s")
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	rt, err := process.New(process.Options{Dir: instancesDir(data), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer rt.Close()
	list, _ := rt.List(ctx)
	fmt.Fprintf(out, "stopping %d instance(s)\n", len(list))
	if err := rt.StopAll(ctx, 10*time.Second); err != nil {
		return fmt.Errorf("stop instances: %w", err)
	}
	if err := stopContainers(ctx, data, out); err != nil {
		return err
	}
	if _, err := os.Stat(data); err == nil {
		fmt.Fprintln(out, "everything stopped; `nonstop server` brings the apps back")
	}
	return nil
}

// stopContainers stops the containers nonstop runs, when Docker Engine
// answers (with none, there are none to stop).
func stopContainers(ctx context.Context, data string, out io.Writer) error {
	return withContainers(ctx, data, func(rt *docker.Runtime, list []runtime.Instance) error {
		if len(list) > 0 {
			fmt.Fprintf(out, "stopping %d container(s)\n", len(list))
		}
		for _, in := range list {
			if err := rt.Stop(ctx, in.ID, 10*time.Second); err != nil {
				return fmt.Errorf("stop container of %s: %w", in.ID, err)
			}
		}
		return nil
	})
}

// RemoveContainers removes the stopped containers and the networks of the
// installation in data, when Docker Engine answers: for a data folder about
// to go (a test's). Volumes stay. Run shutdown first.
func RemoveContainers(ctx context.Context, data string) error {
	return withContainers(ctx, data, func(rt *docker.Runtime, list []runtime.Instance) error {
		for _, in := range list {
			if err := rt.Remove(ctx, in.ID); err != nil {
				return fmt.Errorf("remove container of %s: %w", in.ID, err)
			}
		}
		return rt.RemoveNetworks(ctx)
	})
}

// withContainers calls do with the docker runtime of the installation in
// data and its containers; not at all when the installation never started
// or Docker Engine does not answer (then it runs no container).
func withContainers(ctx context.Context, data string, do func(*docker.Runtime, []runtime.Instance) error) error {
	b, err := os.ReadFile(installIDPath(data))
	if err != nil {
		return nil
	}
	rt, err := docker.New(ctx, docker.Options{Scope: strings.TrimSpace(string(b))})
	if err != nil {
		return nil
	}
	defer rt.Close()
	list, err := rt.List(ctx)
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	return do(rt, list)
}
