package main

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/server"
)

func newServerCmd() *cobra.Command {
	var cfg server.Config
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane (API, rollouts); starts the proxy when it is not running",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
			cfg.Out = os.Stderr
			cfg.Version = version
			return server.Run(cmd.Context(), cfg)
		},
	}
	cmd.Flags().StringVar(&cfg.DataDir, "data", defaultDataDir(), "data folder")
	cmd.Flags().StringVar(&cfg.APIAddr, "api", "127.0.0.1:7070", "API and dashboard listen address")
	cmd.Flags().StringVar(&cfg.HTTPAddr, "http", ":8080", "proxy listen address for the apps")
	cmd.Flags().StringVar(&cfg.DomainSuffix, "domain-suffix", "localhost", "app NAME is served at NAME.SUFFIX")
	return cmd
}

func newProxyCmd() *cobra.Command {
	var data, httpAddr string
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Run the data plane alone (`nonstop server` starts it by default)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return proxy.RunDaemon(cmd.Context(), proxy.DaemonConfig{
				HTTPAddr:   httpAddr,
				SocketPath: server.SocketPath(data),
				StateFile:  server.StateFile(data),
				Logger:     slog.New(slog.NewTextHandler(os.Stderr, nil)),
			})
		},
	}
	cmd.Flags().StringVar(&data, "data", defaultDataDir(), "data folder")
	cmd.Flags().StringVar(&httpAddr, "http", ":8080", "listen address for the apps")
	return cmd
}

func newShutdownCmd() *cobra.Command {
	var data string
	cmd := &cobra.Command{
		Use:   "shutdown",
		Short: "Stop the control plane, the proxy (draining it) and every instance",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return server.Shutdown(cmd.Context(), data, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&data, "data", defaultDataDir(), "data folder")
	return cmd
}
