package build

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/sysuser"
)

func TestCommand_RunsInDirWithEnvAndKeepsOutput(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("NONSTOP_TOKEN", "secret-token")
	var log bytes.Buffer
	err := Command(context.Background(), dir, `echo "hi $GREETING"; echo oops >&2; echo "token=$NONSTOP_TOKEN"; touch built`, map[string]string{"GREETING": "there"}, &log)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	out := log.String()
	for _, want := range []string{"hi there", "oops", "token=\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q lacks %q", out, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "built")); err != nil {
		t.Errorf("build did not run in its dir: %v", err)
	}
}

func TestCommand_FailureNamesCommandAndExitCode(t *testing.T) {
	err := Command(context.Background(), t.TempDir(), "exit 3", nil, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `"exit 3" failed with exit code 3`) {
		t.Fatalf("got %v", err)
	}
}

func TestCommand_CancelKillsTheWholeGroup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := Command(ctx, t.TempDir(), "sleep 30 & sleep 30", nil, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("cancel took %s", d)
	}
}

// A build run as an app's account is that account, sees none of the
// server's environment, and cannot read what only the server may.
func TestCommandAs_ABuildRunsAsTheAppsAccount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("running a build as another user needs root: run the suite as root (make test does)")
	}
	b := make([]byte, 4)
	rand.Read(b)
	name := "nst-build-" + hex.EncodeToString(b)
	t.Cleanup(func() { sysuser.Remove(context.Background(), name) })
	acct, err := sysuser.Ensure(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SERVER_ONLY_SECRET", "s3cret-of-the-server")
	secret := filepath.Join(t.TempDir(), "admin.token")
	os.WriteFile(secret, []byte("nst_the-admin-token"), 0o600)
	dir := t.TempDir()
	os.Chown(dir, int(acct.UID), int(acct.GID))
	os.Chmod(filepath.Dir(dir), 0o755)
	var log strings.Builder
	err = CommandAs(t.Context(), acct, dir, "echo uid=$(id -u); cat "+secret+" || echo could-not-read; env; touch built", map[string]string{"APP_OWN": "yes"}, &log)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, log.String())
	}
	out := log.String()
	for _, want := range []string{"uid=" + strconv.Itoa(int(acct.UID)), "could-not-read", "APP_OWN=yes"} {
		if !strings.Contains(out, want) {
			t.Errorf("the build's output lacks %q:\n%s", want, out)
		}
	}
	for _, leak := range []string{"nst_the-admin-token", "s3cret-of-the-server"} {
		if strings.Contains(out, leak) {
			t.Errorf("the build's output shows %q, the server's:\n%s", leak, out)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "built")); err != nil || fi.Sys().(*syscall.Stat_t).Uid != acct.UID {
		t.Errorf("what the build made is not the account's: %v", err)
	}
}

// A build that starts a server in the background does not leave it
// running: the command's process group ends with it.
func TestCommand_WhatABuildLeftInItsGroupEndsWithIt(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	err := Command(t.Context(), t.TempDir(), "sleep 300 >/dev/null 2>&1 & echo $! > "+pidFile, nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the build's background process %d still runs after the build", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
