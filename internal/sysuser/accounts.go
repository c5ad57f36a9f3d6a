package sysuser

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

// Accounts gives each app of one installation its system account and a
// home folder only that account may enter (DATA/apps/APP/home), made when
// first asked for. A nil *Accounts gives none: everything runs as
// nonstop's own user.
type Accounts struct {
	scope string // the installation's id: its accounts are nst-SCOPE-APP
	apps  string // DATA/apps
	mu    sync.Mutex
}

// NewAccounts returns the accounts of the installation scope whose apps'
// folders are under apps. It needs root.
func NewAccounts(scope, apps string) *Accounts {
	return &Accounts{scope: scopePrefix(scope), apps: apps}
}

// scopePrefix is the part of an installation id account names carry.
func scopePrefix(scope string) string {
	if len(scope) > 6 {
		scope = scope[:6]
	}
	return scope
}

// Name is the account of app.
func (a *Accounts) Name(app string) string { return NameFor(a.scope + "-" + app) }

// For returns app's account, creating it and its home when missing; nil
// (and no error) from a nil *Accounts.
func (a *Accounts) For(ctx context.Context, app string) (*runtime.Account, error) {
	if a == nil {
		return nil, nil
	}
	a.mu.Lock() // useradd takes a lock of its own, and fails rather than waits
	defer a.mu.Unlock()
	acct, err := Ensure(ctx, a.Name(app))
	if err != nil {
		return nil, err
	}
	acct.Home = filepath.Join(a.apps, app, "home")
	if err := os.MkdirAll(filepath.Dir(acct.Home), 0o711); err != nil {
		return nil, fmt.Errorf("app folder of %s: %w", app, err)
	}
	if err := os.Mkdir(acct.Home, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("home of %s: %w", app, err)
	}
	if err := Own(acct.Home, acct); err != nil {
		return nil, err
	}
	return acct, nil
}

// Forget removes app's account (its home goes with the app's folder).
func (a *Accounts) Forget(ctx context.Context, app string) error {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return Remove(ctx, a.Name(app))
}

// RemoveScope removes every account of the installation scope: what is
// left of an installation whose data folder is gone.
func RemoveScope(ctx context.Context, scope string) error {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return err
	}
	defer f.Close()
	prefix := "nst-" + scopePrefix(scope) + "-"
	var errs []error
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, _, _ := strings.Cut(sc.Text(), ":")
		if strings.HasPrefix(name, prefix) {
			errs = append(errs, Remove(ctx, name))
		}
	}
	return errors.Join(append(errs, sc.Err())...)
}

// Own makes dir and everything in it acct's (symbolic links themselves,
// never what they point to), and dir itself 0700: only acct may enter
// it. A dir acct already owns is left as it is.
func Own(dir string, acct *runtime.Account) error {
	var st syscall.Stat_t
	if err := syscall.Lstat(dir, &st); err != nil {
		return fmt.Errorf("own %s: %w", dir, err)
	}
	if st.Uid == acct.UID && st.Gid == acct.GID && st.Mode&0o077 == 0 {
		return nil
	}
	err := chownTree(dir, int(acct.UID), int(acct.GID))
	if err == nil {
		err = os.Chmod(dir, 0o700)
	}
	if err != nil {
		return fmt.Errorf("give %s to %s: %w", dir, acct.Name, err)
	}
	return nil
}

// chownTree gives dir and what it holds to uid and gid, children before
// their folder: the account can change nothing in a folder until all of
// it is its own, so it cannot swap a folder for a link to elsewhere while
// the walk is in it.
func chownTree(dir string, uid, gid int) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if e.IsDir() { // never a link: ReadDir does not follow them
			err = chownTree(path, uid, gid)
		} else {
			err = os.Lchown(path, uid, gid)
		}
		if err != nil {
			return err
		}
	}
	return os.Lchown(dir, uid, gid)
}

// Reachable reports the first folder above dir that other users may not
// pass through: an app's account could not reach its folder under it.
func Reachable(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for p := filepath.Dir(abs); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s (mode %04o) does not let other users pass (o+x), so apps' accounts cannot reach their folders in %s: chmod o+x %s, or choose a data folder elsewhere (/var/lib/nonstop)", p, fi.Mode().Perm(), abs, p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}
