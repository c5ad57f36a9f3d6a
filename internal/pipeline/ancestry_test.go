package pipeline_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nonstopdev/nonstop/internal/pipeline"
	"github.com/nonstopdev/nonstop/internal/store"
)

// A webhook's push of the live commit, or of one of its ancestors (a
// replayed or late delivery), ends its run without deploying; a newer
// commit deploys.
func TestWebhookRun_APushThatIsNotNewerThanLiveDoesNotDeploy(t *testing.T) {
	r := newRig(t, pipeline.Config{})
	r.createApp("hist")
	work, _ := r.source("hist", 1, "")
	bare := filepath.Join(r.data, "hist.git")
	git := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@t", "-C", work}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	commit := func(v string) string {
		t.Helper()
		yaml := filepath.Join(work, "nonstop.yaml")
		b, err := os.ReadFile(yaml)
		if err != nil {
			t.Fatal(err)
		}
		b = regexp.MustCompile(`VERSION: "\d+"`).ReplaceAll(b, []byte(`VERSION: "`+v+`"`))
		os.WriteFile(yaml, b, 0o644)
		git("add", ".")
		git("commit", "-qm", "v"+v)
		git("push", "-q", bare, "HEAD:refs/heads/main")
		return git("rev-parse", "HEAD")
	}
	if out, err := exec.Command("git", "init", "-q", "--bare", "-b", "main", bare).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	git("init", "-q", "-b", "main")
	a := commit("1")
	b := commit("2")
	c := commit("3")
	n := 0
	push := func(sha string) *pipeline.RunView {
		t.Helper()
		if _, err := r.pl.Enqueue(context.Background(), pipeline.Request{App: r.app("hist"), Trigger: "webhook", Repo: "file://" + bare,
			Ref: "refs/heads/main", Commit: sha, StartedBy: "github webhook"}); err != nil {
			t.Fatal(err)
		}
		n++
		return r.waitRun("hist", n)
	}

	if v := push(c); v.State != store.RunSucceeded {
		t.Fatalf("push of the head %.7s: run %s (%s), want it live", c, v.State, v.Reason)
	}
	for sha, why := range map[string]string{b: "is an ancestor of the live commit", a: "is an ancestor of the live commit", c: "is live"} {
		v := push(sha)
		if v.State != store.RunSuperseded || !strings.Contains(v.Reason, "not newer than live: "+sha[:12]+" "+why) {
			t.Errorf("push of %.7s with %.7s live: run %s (%q), want superseded, not newer than live: %s", sha, c, v.State, v.Reason, why)
		}
	}
	r.mustServe("hist", 3)

	d := commit("4")
	if v := push(d); v.State != store.RunSucceeded {
		t.Fatalf("push of a newer commit %.7s: run %s (%s), want it live", d, v.State, v.Reason)
	}
	r.mustServe("hist", 4)

	// A branch force-pushed back to an older commit holds that commit now:
	// its push deploys (the live one is no longer in the branch's history).
	git("reset", "-q", "--hard", b)
	git("push", "-q", "-f", bare, "HEAD:refs/heads/main")
	if v := push(b); v.State != store.RunSucceeded {
		t.Fatalf("push of %.7s after a force-push: run %s (%s), want it live", b, v.State, v.Reason)
	}
	r.mustServe("hist", 2)
}
