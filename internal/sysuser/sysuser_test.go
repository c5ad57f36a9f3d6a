package sysuser_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"os/user"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/sysuser"
)

func TestNameFor_IsShortEnoughAndNeverShared(t *testing.T) {
	long1, long2 := strings.Repeat("a", 40)+"x", strings.Repeat("a", 40)+"y"
	for _, app := range []string{"shop", long1, long2} {
		if n := sysuser.NameFor(app); len(n) > 32 || !strings.HasPrefix(n, "nst-") {
			t.Errorf("NameFor(%q) = %q: want nst-… of at most 32 characters", app, n)
		}
	}
	if sysuser.NameFor("shop") != "nst-shop" {
		t.Errorf("NameFor(shop) = %q", sysuser.NameFor("shop"))
	}
	if sysuser.NameFor(long1) == sysuser.NameFor(long2) {
		t.Error("two long app names share an account")
	}
}

func TestEnsure_CreatesOnceAndRemoveDeletes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("creating system users needs root: run the suite as root (make test does)")
	}
	b := make([]byte, 4)
	rand.Read(b)
	name := "nst-t-" + hex.EncodeToString(b)
	t.Cleanup(func() { sysuser.Remove(t.Context(), name) })
	a, err := sysuser.Ensure(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	if a.UID == 0 || a.GID == 0 || a.Name != name {
		t.Fatalf("account %+v: want a user of its own, not root", a)
	}
	again, err := sysuser.Ensure(t.Context(), name)
	if err != nil || *again != *a {
		t.Errorf("Ensure again: %+v, %v; want the same account", again, err)
	}
	if err := sysuser.Remove(t.Context(), name); err != nil {
		t.Fatal(err)
	}
	if _, err := user.Lookup(name); err == nil {
		t.Error("the account is still there after Remove")
	}
	if err := sysuser.Remove(t.Context(), name); err != nil {
		t.Errorf("removing it twice: %v", err)
	}
}

// Kill stops every process of an account, and says whether there was one.
func TestKill_StopsWhatRunsAsTheAccount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("creating system users needs root: run the suite as root (make test does)")
	}
	b := make([]byte, 4)
	rand.Read(b)
	name := "nst-k-" + hex.EncodeToString(b)
	t.Cleanup(func() { sysuser.Remove(context.Background(), name) })
	a, err := sysuser.Ensure(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "300")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: a.Credential(), Setsid: true} // out of any group, as a daemon
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if killed, err := sysuser.Kill(t.Context(), name); err != nil || !killed {
		t.Fatalf("Kill: %v %v, want the sleep killed", killed, err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the account's process still runs after Kill")
	}
	if killed, err := sysuser.Kill(t.Context(), name); err != nil || killed {
		t.Errorf("Kill with nothing running: %v %v, want false, nil", killed, err)
	}
}
