package pipeline

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestRedactURL_HidesCredentialsOnly(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:token@git.example.com/acme/app.git": "https://***@git.example.com/acme/app.git",
		"https://git.example.com/acme/app.git":            "https://git.example.com/acme/app.git",
		"file:///srv/app.git":                             "file:///srv/app.git",
		"git@github.com:acme/app.git":                     "git@github.com:acme/app.git",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLsRemote_ReadsABranchHeadOfALocalRepository(t *testing.T) {
	dir := t.TempDir()
	bare := filepath.Join(dir, "app.git")
	work := filepath.Join(dir, "work")
	run := func(args ...string) string {
		out, err := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@t"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "-q", "--bare", "-b", "main", bare)
	run("init", "-q", "-b", "main", work)
	os.WriteFile(filepath.Join(work, "f"), []byte("x"), 0o644)
	run("-C", work, "add", ".")
	run("-C", work, "commit", "-qm", "one")
	run("-C", work, "push", "-q", bare, "main")
	head := run("-C", work, "rev-parse", "HEAD")
	if got, err := lsRemote(context.Background(), "file://"+bare, "refs/heads/main"); err != nil || got != head {
		t.Fatalf("ls-remote: %q %v, want %s", got, err, head)
	}
	if _, err := lsRemote(context.Background(), "file://"+bare, "refs/heads/nope"); err == nil || !strings.Contains(err.Error(), "has no refs/heads/nope") {
		t.Fatalf("a missing branch: %v", err)
	}
}
