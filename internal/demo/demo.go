// Package demo is `nonstop demo`: a server in a temporary folder, the hello
// example deployed with 2 instances, a new version and a broken one rolled
// out under a bounded load, and a summary that counts every request.
package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nonstopdev/nonstop/examples"
	"github.com/nonstopdev/nonstop/internal/archive"
	"github.com/nonstopdev/nonstop/internal/client"
	"github.com/nonstopdev/nonstop/internal/loadgen"
	"github.com/nonstopdev/nonstop/internal/server"
	"github.com/nonstopdev/nonstop/internal/wire"
)

// Options configure the demo.
type Options struct {
	APIAddr, HTTPAddr string
	Out               io.Writer
	Version           string
	// Exit stops everything after the summary instead of waiting for Ctrl-C.
	Exit bool
}

// Run runs the demo; it stops everything it started before it returns.
func Run(ctx context.Context, opts Options) error {
	tmp, err := os.MkdirTemp("", "nonstop-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// Apps' accounts (when nonstop runs as root) pass through to their
	// folders in the data folder; they list nothing here.
	if err := os.Chmod(tmp, 0o711); err != nil {
		return err
	}
	data := filepath.Join(tmp, "data")
	out := opts.Out
	fmt.Fprintf(out, "nonstop demo: data folder %s\n", data)

	srvCtx, stopServer := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	srvDone := make(chan error, 1)
	var srvLog bytes.Buffer
	go func() {
		srvDone <- server.Run(srvCtx, server.Config{
			DataDir: data, APIAddr: opts.APIAddr, HTTPAddr: opts.HTTPAddr, Version: opts.Version,
			Logger: slog.New(slog.NewTextHandler(&srvLog, nil)), Out: io.Discard,
			Ready: func(u string) { ready <- u },
		})
	}()
	defer func() {
		stopServer()
		<-srvDone
		shutCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		server.Shutdown(shutCtx, data, io.Discard)
		if err := server.RemoveAccounts(shutCtx, data); err != nil {
			fmt.Fprintf(out, "remove the demo apps' accounts: %v\n", err)
		}
		fmt.Fprintln(out, "demo stopped: server, proxy and instances are down")
	}()
	var apiURL string
	select {
	case apiURL = <-ready:
	case err := <-srvDone:
		srvDone <- err
		return fmt.Errorf("start server: %w", err)
	case <-ctx.Done():
		return ctx.Err()
	}
	token, err := server.AdminToken(data)
	if err != nil {
		return err
	}
	c := client.New(apiURL, token)
	d := &run{ctx: ctx, c: c, out: out, src: filepath.Join(tmp, "hello")}
	if err := d.copyExample(); err != nil {
		return err
	}
	if err := d.script(opts); err != nil {
		return err
	}
	if opts.Exit {
		return nil
	}
	fmt.Fprintln(out, "\nThe server stays up; press Ctrl-C to stop everything.")
	wait, cancel := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer cancel()
	<-wait.Done()
	return nil
}

type run struct {
	ctx context.Context
	c   *client.Client
	out io.Writer
	src string
}

func (d *run) copyExample() error {
	sub, err := fs.Sub(examples.FS, "hello")
	if err != nil {
		return err
	}
	return os.CopyFS(d.src, sub)
}

// setEnv rewrites the example's VERSION and adds extra env lines.
func (d *run) setEnv(version string, extra ...string) error {
	path := filepath.Join(d.src, "nonstop.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "  VERSION:") {
			l = fmt.Sprintf("  VERSION: %q", version)
			for _, e := range extra {
				l += "\n  " + e
			}
		}
		lines = append(lines, l)
	}
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644)
}

// deploy uploads the example and waits for its rollout to end.
func (d *run) deploy(label string) (*wire.Rollout, []wire.Event, error) {
	var buf bytes.Buffer
	if err := archive.PackTarGz(&buf, d.src); err != nil {
		return nil, nil, err
	}
	ro, err := d.c.Deploy(d.ctx, "hello", &buf, "demo")
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(d.out, "\n== %s: deploy #%d\n", label, ro.ID)
	var events []wire.Event
	end, err := d.c.Follow(d.ctx, "hello", ro.ID, func(e wire.Event) {
		events = append(events, e)
		// Of the build's output, only who it runs as (as root: the
		// app's account of its own).
		if e.Kind == "progress" || e.Kind == "log" && !strings.Contains(e.Message, " runs as ") {
			return
		}
		fmt.Fprintf(d.out, "   %s %s\n", e.Time.Local().Format("15:04:05.000"), firstLine(e.Message))
	})
	return end, events, err
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func (d *run) script(opts Options) error {
	if _, err := d.c.CreateApp(d.ctx, "hello", nil); err != nil {
		return err
	}
	v1, _, err := d.deploy("v1, 2 instances")
	if err != nil {
		return err
	}
	if v1.State != wire.RolloutDone {
		return fmt.Errorf("first deploy did not go live: %s: %s", v1.State, v1.Reason)
	}
	proxyURL := "http://" + opts.HTTPAddr
	load := loadgen.Start(d.ctx, loadgen.Config{URL: proxyURL, Host: "hello.localhost", Workers: 4, SlowPath: "/slow?ms=1500", SlowWorkers: 2, MaxDuration: 5 * time.Minute})
	fmt.Fprintf(d.out, "\n== load: 4 clients back to back + 2 clients with 1.5 s requests, through %s (Host: hello.localhost)\n", proxyURL)
	time.Sleep(time.Second)

	if err := d.setEnv("2"); err != nil {
		return err
	}
	v2, v2events, err := d.deploy("v2 under load")
	if err != nil {
		load.Stop()
		return err
	}
	if err := d.setEnv("3", `CRASH_ON_START: "1"`); err != nil {
		return err
	}
	v3, _, err := d.deploy("v3, broken on purpose (crashes at start)")
	if err != nil {
		load.Stop()
		return err
	}
	time.Sleep(time.Second)
	res := load.Stop()

	var cutovers []string
	for _, e := range v2events {
		if us, ok := e.Data["cutover_us"].(float64); ok {
			cutovers = append(cutovers, (time.Duration(us) * time.Microsecond).String())
		}
	}
	w := d.out
	fmt.Fprintln(w, "\n== summary")
	fmt.Fprintf(w, "requests sent:      %d\n", res.Sent)
	fmt.Fprintf(w, "requests failed:    %d\n", res.Failed)
	fmt.Fprintf(w, "slow requests ok:   %d (1.5 s each, many in flight during cut-overs)\n", res.Slow)
	fmt.Fprintf(w, "versions served:    %s\n", res.VersionList())
	fmt.Fprintf(w, "v2 rollout:         %s in %s; healthy → taking traffic: %s\n", v2.State, v2.FinishedAt.Sub(v2.CreatedAt).Round(time.Millisecond), strings.Join(cutovers, ", "))
	fmt.Fprintf(w, "v3 (broken):        %s: %s\n", v3.State, firstLine(v3.Reason))
	for _, e := range res.Errors {
		fmt.Fprintf(w, "  failure: %s\n", e)
	}
	fmt.Fprintf(w, "\nhello is live at http://hello.localhost%s/ (v2); API at %s\n", portSuffix(opts.HTTPAddr), d.c.Server)
	if res.Failed > 0 || v2.State != wire.RolloutDone || v3.State != wire.RolloutRolledBack {
		return errors.New("the demo did not go as it should: see above")
	}
	return nil
}

func portSuffix(addr string) string {
	if i := strings.LastIndex(addr, ":"); i >= 0 && addr[i:] != ":80" {
		return addr[i:]
	}
	return ""
}
