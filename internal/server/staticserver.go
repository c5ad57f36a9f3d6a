package server

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nonstopdev/nonstop/internal/atomicfile"
	"github.com/nonstopdev/nonstop/internal/sysuser"
)

// staticServer is the nonstop binary that static sites' instances run.
// Apps' accounts must be able to run it: this very binary when they can
// reach it, else a copy of it in DATA/bin (kept up to date at each start).
func staticServer(data string, accounts *sysuser.Accounts) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the nonstop binary: %w", err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return "", fmt.Errorf("find the nonstop binary: %w", err)
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return "", fmt.Errorf("find the nonstop binary: %w", err)
	}
	if accounts == nil || fi.Mode().Perm()&0o001 != 0 && sysuser.Reachable(exe) == nil {
		return exe, nil // apps run as nonstop's user, or may run it where it is
	}
	bin := filepath.Join(data, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", fmt.Errorf("static sites' server: %w", err)
	}
	if err := os.Chmod(bin, 0o755); err != nil {
		return "", fmt.Errorf("static sites' server: %w", err)
	}
	copyPath := filepath.Join(bin, "nonstop")
	self, err := os.ReadFile(exe)
	if err != nil {
		return "", fmt.Errorf("static sites' server: read %s: %w", exe, err)
	}
	if have, err := os.ReadFile(copyPath); err == nil && bytes.Equal(have, self) {
		return copyPath, nil
	}
	if err := atomicfile.Write(copyPath, self, 0o755); err != nil {
		return "", fmt.Errorf("static sites' server: %w", err)
	}
	return copyPath, nil
}
