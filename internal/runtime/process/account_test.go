package process

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/sysuser"
)

// systemAccount creates a system user for the test (and removes it
// after). Making one needs root, as running an instance as one does.
func systemAccount(t *testing.T) *runtime.Account {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("running an instance as another user needs root: run the suite as root (make test does)")
	}
	b := make([]byte, 4)
	rand.Read(b)
	name := "nst-test-" + hex.EncodeToString(b)
	t.Cleanup(func() { sysuser.Remove(context.Background(), name) })
	acct, err := sysuser.Ensure(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return acct
}

// An instance given an account runs as it, with nothing of the server's
// environment, and cannot read what only the server's user may: the
// proof is the instance's own output.
func TestStart_AnInstanceRunsAsItsAccountWithItsOwnEnvironmentOnly(t *testing.T) {
	acct := systemAccount(t)
	t.Setenv("SERVER_ONLY_SECRET", "s3cret-of-the-server")
	secret := filepath.Join(t.TempDir(), "admin.token")
	if err := os.WriteFile(secret, []byte("nst_the-admin-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Chown(dir, int(acct.UID), int(acct.GID)); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Dir(dir), 0o755) // t.TempDir's parent: traversable, as DATA/apps is
	rt := newRuntime(t, "", Options{})
	spec := testSpec(t, "acct-1", "echo uid=$(id -u) gid=$(id -g) groups=$(id -G); cat "+secret+" || echo could-not-read; env; echo done; exec sleep 30")
	spec.Dir, spec.User, spec.Env = dir, acct, map[string]string{"APP_OWN": "yes"}
	start(t, rt, spec)
	out := waitLog(t, rt, spec.ID, "done")
	for _, want := range []string{"uid=" + strconv.Itoa(int(acct.UID)), "gid=" + strconv.Itoa(int(acct.GID)), "groups=" + strconv.Itoa(int(acct.GID)) + "\n",
		"could-not-read", "APP_OWN=yes", "PORT=", "HOME=/", "PATH=" + os.Getenv("PATH") + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("the instance's output lacks %q:\n%s", want, out)
		}
	}
	for _, leak := range []string{"nst_the-admin-token", "s3cret-of-the-server", "SERVER_ONLY_SECRET"} {
		if strings.Contains(out, leak) {
			t.Errorf("the instance's output shows %q, which is the server's:\n%s", leak, out)
		}
	}
}
