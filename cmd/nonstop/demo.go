package main

import (
	"github.com/spf13/cobra"

	"github.com/nonstopdev/nonstop/internal/demo"
)

func newDemoCmd() *cobra.Command {
	var opts demo.Options
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start a server in a temporary folder, deploy examples/hello, roll out under load, print the proof",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Out = cmd.OutOrStdout()
			opts.Version = version
			return demo.Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.HTTPAddr, "http", "127.0.0.1:8080", "proxy listen address")
	cmd.Flags().StringVar(&opts.APIAddr, "api", "127.0.0.1:7070", "API listen address")
	cmd.Flags().BoolVar(&opts.Exit, "exit", false, "stop everything after the summary instead of waiting for Ctrl-C")
	return cmd
}
