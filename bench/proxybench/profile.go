package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"

	"github.com/nonstopdev/nonstop/internal/proxy/daemon"

	"github.com/nonstopdev/nonstop/internal/server"
)

// accessLogPath is `nonstop proxy --access-log`'s default and "off".
func accessLogPath(data, flag string) string {
	switch flag {
	case "off":
		return ""
	case "":
		return filepath.Join(data, "proxy", "access.log")
	}
	return flag
}

// runProfiledProxy is `proxybench nonstop-proxy -data D -http A
// -cpuprofile F`: what `nonstop proxy --data D --http A` runs (the same
// daemon.Run and configuration), with a CPU profile written to F
// when it stops. `nonstop proxy` itself does not expose pprof. Keep it in
// step with cmd/nonstop's newProxyCmd (HTTPS flags aside).
func runProfiledProxy(args []string) error {
	fs := flag.NewFlagSet("nonstop-proxy", flag.ExitOnError)
	data := fs.String("data", "", "data folder")
	httpAddr := fs.String("http", "127.0.0.1:8080", "listen address for the apps")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile here")
	accessLog := fs.String("access-log", "", `as nonstop proxy's: "" for DATA/proxy/access.log, "off" for none`)
	_ = fs.Parse(args)

	f, err := os.Create(*cpuprofile)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return fmt.Errorf("start CPU profile: %w", err)
	}
	defer pprof.StopCPUProfile()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return daemon.Run(ctx, daemon.Config{
		HTTPAddr:   *httpAddr,
		SocketPath: server.SocketPath(*data),
		StateFile:  server.StateFile(*data),
		Logger:     slog.New(slog.NewTextHandler(os.Stderr, nil)),
		AccessLog:  accessLogPath(*data, *accessLog),
	})
}
