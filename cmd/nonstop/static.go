package main

import (
	"fmt"
	"net"
	"os"

	"github.com/spf13/cobra"

	"github.com/nonstopdev/nonstop/internal/static"
)

func newStaticCmd() *cobra.Command {
	var dir, addr string
	cmd := &cobra.Command{
		Use:   "static",
		Short: "Serve a folder as a static site (what a detected static site's instances run)",
		Long: `Serve a folder as a static site: index.html for folders, no listings,
404.html when there is one, ETag and Last-Modified, Cache-Control by kind of
file (HTML revalidated, fingerprinted assets immutable), gzip for text. It
listens on 127.0.0.1:$PORT unless --addr says otherwise, and on SIGTERM
finishes the requests in flight before it exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if addr == "" {
				port := os.Getenv("PORT")
				if port == "" {
					return fmt.Errorf("no --addr and no $PORT to listen on")
				}
				addr = net.JoinHostPort("127.0.0.1", port)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "serving %s on %s\n", dir, addr)
			return static.Serve(cmd.Context(), addr, dir)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".", "the folder to serve")
	cmd.Flags().StringVar(&addr, "addr", "", "address to listen on (default 127.0.0.1:$PORT)")
	return cmd
}
