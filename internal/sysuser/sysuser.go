// Package sysuser creates and removes the system accounts that apps'
// builds and instances run as, one per app, so that an app reads neither
// nonstop's data nor another app's files or environment. It drives
// Debian's useradd and userdel, and needs root.
package sysuser

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"os/user"
	"strconv"
	"strings"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

// maxName is the longest user name useradd takes.
const maxName = 32

// NameFor is the account of app: nst-APP, shortened with a hash of the
// whole name when too long (two apps never share one).
func NameFor(app string) string {
	name := "nst-" + app
	if len(name) <= maxName {
		return name
	}
	sum := sha256.Sum256([]byte(app))
	return name[:maxName-9] + "-" + hex.EncodeToString(sum[:4])
}

// Ensure returns the system account name, creating it (no home, no login
// shell, a group of its own) when it does not exist.
func Ensure(ctx context.Context, name string) (*runtime.Account, error) {
	if a, err := lookup(name); err == nil {
		return a, nil
	}
	out, err := exec.CommandContext(ctx, "useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
		"--shell", "/usr/sbin/nologin", name).CombinedOutput()
	if err != nil {
		if a, lerr := lookup(name); lerr == nil {
			return a, nil // made meanwhile
		}
		return nil, fmt.Errorf("create system user %s: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	return lookup(name)
}

// Remove kills what runs as the system account name and deletes it; one
// that is gone is no error.
func Remove(ctx context.Context, name string) error {
	if _, err := lookup(name); err != nil {
		return nil
	}
	// What still runs as the account goes with it (userdel refuses
	// otherwise): an instance a crash left behind, a build's leftover.
	if _, err := Kill(ctx, name); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, "userdel", name).CombinedOutput(); err != nil {
		return fmt.Errorf("remove system user %s: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func lookup(name string) (*runtime.Account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, err
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("system user %s: %w", name, err)
	}
	return &runtime.Account{Name: name, UID: uint32(uid), GID: uint32(gid), Home: "/"}, nil
}

// Kill sends SIGKILL to every process that runs as the system account
// name, and reports whether there was any.
func Kill(ctx context.Context, name string) (bool, error) {
	err := exec.CommandContext(ctx, "pkill", "-KILL", "-U", name).Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &exit) && exit.ExitCode() == 1: // none matched
		return false, nil
	default:
		return false, fmt.Errorf("kill the processes of %s: %w", name, err)
	}
}
