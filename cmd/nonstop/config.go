package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/nonstopdev/nonstop/internal/client"
	"github.com/nonstopdev/nonstop/internal/server"
)

const defaultServer = "http://127.0.0.1:7070"

// credentials is what `nonstop login` stores.
type credentials struct {
	Server string `json:"server"`
	Token  string `json:"token"`
}

func credentialsPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = filepath.Join(os.Getenv("HOME"), ".config")
	}
	return filepath.Join(dir, "nonstop", "credentials.json")
}

func loadCredentials() credentials {
	var c credentials
	if b, err := os.ReadFile(credentialsPath()); err == nil {
		json.Unmarshal(b, &c)
	}
	return c
}

// defaultDataDir is ~/.nonstop, or $NONSTOP_DATA.
func defaultDataDir() string {
	if d := os.Getenv("NONSTOP_DATA"); d != "" {
		return d
	}
	if os.Geteuid() == 0 {
		// A system service's folder: apps' accounts must pass through
		// every folder above it, and root's home lets no one through.
		return "/var/lib/nonstop"
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".nonstop"
	}
	return filepath.Join(home, ".nonstop")
}

// apiClient finds the server and token: flags, then environment, then the
// login file, then a local server's admin token.
func apiClient(cmd *cobra.Command) (*client.Client, error) {
	srv, _ := cmd.Flags().GetString("server")
	tok, _ := cmd.Flags().GetString("token")
	saved := loadCredentials()
	if srv == "" {
		srv = os.Getenv("NONSTOP_SERVER")
	}
	if srv == "" {
		srv = saved.Server
	}
	if srv == "" {
		srv = defaultServer
	}
	if tok == "" {
		tok = os.Getenv("NONSTOP_TOKEN")
	}
	if tok == "" && (saved.Server == "" || saved.Server == srv) {
		tok = saved.Token
	}
	if tok == "" && srv == defaultServer {
		tok, _ = server.AdminToken(defaultDataDir())
	}
	if tok == "" {
		return nil, fmt.Errorf("no token for %s: run `nonstop login %s` or set NONSTOP_TOKEN", srv, srv)
	}
	return client.New(srv, tok), nil
}
