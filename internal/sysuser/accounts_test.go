package sysuser_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nonstopdev/nonstop/internal/sysuser"
)

func newScope(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("creating system users needs root: run the suite as root (make test does)")
	}
	b := make([]byte, 3)
	rand.Read(b)
	scope := "t" + hex.EncodeToString(b)[:5]
	t.Cleanup(func() { sysuser.RemoveScope(t.Context(), scope) })
	return scope
}

func owner(t *testing.T, path string) (uid, gid uint32, mode os.FileMode) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Uid, st.Gid, os.FileMode(st.Mode).Perm()
}

func TestAccounts_ForGivesEachAppItsAccountAndAHomeOnlyItEnters(t *testing.T) {
	scope := newScope(t)
	a := sysuser.NewAccounts(scope, filepath.Join(t.TempDir(), "apps"))
	shop, err := a.For(t.Context(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	blog, err := a.For(t.Context(), "blog")
	if err != nil {
		t.Fatal(err)
	}
	if shop.UID == blog.UID || shop.UID == 0 || !strings.HasPrefix(shop.Name, "nst-"+scope+"-") {
		t.Fatalf("accounts %+v and %+v: want one of its own each, named for the installation", shop, blog)
	}
	if uid, _, mode := owner(t, shop.Home); uid != shop.UID || mode != 0o700 {
		t.Errorf("home %s: uid %d mode %o, want %d 0700", shop.Home, uid, mode, shop.UID)
	}
	again, err := a.For(t.Context(), "shop")
	if err != nil || *again != *shop {
		t.Errorf("For again: %+v %v, want %+v", again, err, shop)
	}
	if err := a.Forget(t.Context(), "shop"); err != nil {
		t.Fatal(err)
	}
	if _, err := user.Lookup(shop.Name); err == nil {
		t.Error("Forget left the account")
	}
	if err := sysuser.RemoveScope(t.Context(), scope); err != nil {
		t.Fatal(err)
	}
	if _, err := user.Lookup(blog.Name); err == nil {
		t.Error("RemoveScope left an account of the installation")
	}
	var none *sysuser.Accounts
	if acct, err := none.For(t.Context(), "shop"); acct != nil || err != nil {
		t.Errorf("no accounts: For = %+v, %v; want nil, nil", acct, err)
	}
}

func TestOwn_GivesATreeToTheAccountWithoutFollowingLinks(t *testing.T) {
	scope := newScope(t)
	acct, err := sysuser.NewAccounts(scope, t.TempDir()).For(t.Context(), "app")
	if err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "server-file")
	os.WriteFile(outside, []byte("x"), 0o600)
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "sub", "deep"), 0o755)
	os.WriteFile(filepath.Join(src, "sub", "deep", "f"), []byte("x"), 0o644)
	os.Symlink(outside, filepath.Join(src, "link"))
	if err := sysuser.Own(src, acct); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{src, filepath.Join(src, "sub"), filepath.Join(src, "sub", "deep", "f"), filepath.Join(src, "link")} {
		if uid, gid, _ := owner(t, p); uid != acct.UID || gid != acct.GID {
			t.Errorf("%s: %d:%d, want the account's %d:%d", p, uid, gid, acct.UID, acct.GID)
		}
	}
	if _, _, mode := owner(t, src); mode != 0o700 {
		t.Errorf("the folder's mode is %o, want 0700", mode)
	}
	if uid, _, _ := owner(t, outside); uid != 0 {
		t.Errorf("the file a link points to went to uid %d: Own followed the link", uid)
	}
}

func TestReachable_NamesTheFolderThatLetsNoOneThrough(t *testing.T) {
	closed := t.TempDir()
	os.Chmod(closed, 0o700)
	data := filepath.Join(closed, "data")
	err := sysuser.Reachable(data)
	if err == nil || !strings.Contains(err.Error(), closed+" (mode 0700)") {
		t.Errorf("Reachable under a 0700 folder: %v, want it named", err)
	}
	os.Chmod(closed, 0o711)
	os.Chmod(filepath.Dir(closed), 0o711)
	if err := sysuser.Reachable(data); err != nil {
		t.Errorf("Reachable under 0711 folders: %v", err)
	}
}
