package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nonstopdev/nonstop/internal/sysuser"
)

// appsDir holds each app's builds and home: DATA/apps/APP.
func appsDir(data string) string { return filepath.Join(data, "apps") }

// isolation returns the accounts apps run as when the server is root:
// the data folder then lets them pass (0711) to their own folders, and
// lists nothing. Otherwise it says, once, that apps run as nonstop itself
// and returns nil.
func isolation(cfg Config, scope string) (*sysuser.Accounts, error) {
	if os.Geteuid() != 0 {
		cfg.Logger.Warn("nonstop is not running as root: process-runtime apps would run as this user, able to read its data folder, so only admins may deploy them; run it as root to give each app an account of its own")
		return nil, nil
	}
	if err := sysuser.Reachable(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	for _, dir := range []string{cfg.DataDir, appsDir(cfg.DataDir)} {
		if err := os.MkdirAll(dir, 0o711); err != nil {
			return nil, fmt.Errorf("data folder: %w", err)
		}
		if err := os.Chmod(dir, 0o711); err != nil {
			return nil, fmt.Errorf("data folder: %w", err)
		}
	}
	a := sysuser.NewAccounts(scope, appsDir(cfg.DataDir))
	cfg.Logger.Info("each app's builds and process instances run as a system account of its own", "accounts", a.Name("APP"))
	return a, nil
}

// RemoveAccounts removes the accounts of every app of the installation in
// data: for a data folder about to go (the demo's).
func RemoveAccounts(ctx context.Context, data string) error {
	b, err := os.ReadFile(installIDPath(data))
	if errors.Is(err, fs.ErrNotExist) || os.Geteuid() != 0 {
		return nil
	}
	if err != nil {
		return err
	}
	return sysuser.RemoveScope(ctx, strings.TrimSpace(string(b)))
}
