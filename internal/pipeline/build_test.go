package pipeline_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/pipeline"
	"github.com/nonstopdev/nonstop/internal/store"
)

// A build runs in its own numbered folder, which becomes the release's, and
// its output goes to build.log and to the rollout's history line by line.
func TestSubmit_BuildsInANumberedFolderWithItsLog(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, pipeline.Config{})
	r.createApp("hello")
	dir, sp := r.source("hello", 1, "build: echo compiling && touch built\n")
	ro, run, err := r.submit("hello", dir, sp)
	if err != nil {
		t.Fatal(err)
	}
	if ro.State != store.RolloutPending || run == nil || run.Trigger != "cli" || run.RolloutID != ro.ID {
		t.Fatalf("submit answered rollout %+v, run %+v", ro, run)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the accepted source was not taken over: %v", err)
	}
	if ended := r.wait(ro.ID); ended.State != store.RolloutDone || ended.ToRelease != 1 {
		t.Fatalf("rollout ended %s v%d: %s", ended.State, ended.ToRelease, ended.Reason)
	}
	build := filepath.Join(r.data, "apps", "hello", "builds", "1")
	rel, err := r.st.Release(ctx, r.app("hello").ID, 1)
	if err != nil || rel.Build != 1 || rel.Dir != filepath.Join(build, "src") || rel.Description != "build #1 (cli)" {
		t.Fatalf("release v1 = %+v %v", rel, err)
	}
	if _, err := os.Stat(filepath.Join(build, "src", "built")); err != nil {
		t.Errorf("the build command did not run in the release folder: %v", err)
	}
	if log, _ := os.ReadFile(filepath.Join(build, "build.log")); !strings.Contains(string(log), "compiling") {
		t.Errorf("build.log = %q", log)
	}
	var logs []string
	for _, e := range r.events(ro.ID) {
		if e.Kind == "log" {
			logs = append(logs, e.Message)
		}
	}
	if !slices.Contains(logs, "compiling") {
		t.Errorf("build output not in the events: %v", logs)
	}
	r.mustServe("hello", 1)
}

func TestSubmit_BuildFailureFailsTheRolloutAndChangesNothing(t *testing.T) {
	r := newRig(t, pipeline.Config{})
	r.createApp("hello")
	r.deployLive("hello", 1, "")

	dir, sp := r.source("hello", 2, "")
	sp.Build = "echo compiling; echo 'main.go:3: syntax error' >&2; exit 3"
	ro, _, err := r.submit("hello", dir, sp)
	if err != nil {
		t.Fatal(err)
	}
	ended := r.wait(ro.ID)
	if ended.State != store.RolloutFailed || !strings.Contains(ended.Reason, "build #2 failed") || !strings.Contains(ended.Reason, "exit code 3") {
		t.Errorf("rollout ended %s: %q; want failed naming build #2 and its exit code", ended.State, ended.Reason)
	}
	var logs []string
	for _, e := range r.events(ro.ID) {
		if e.Kind == "log" {
			logs = append(logs, e.Message)
		}
	}
	if !slices.Contains(logs, "main.go:3: syntax error") || !slices.Contains(logs, "compiling") {
		t.Errorf("build output not in the events: %v", logs)
	}
	if rels, _ := r.st.Releases(context.Background(), r.app("hello").ID); len(rels) != 1 {
		t.Errorf("%d releases, want only v1: a failed build makes none", len(rels))
	}
	if app := r.app("hello"); app.LiveRelease != 1 {
		t.Errorf("live v%d", app.LiveRelease)
	}
	r.mustServe("hello", 1)
}

func TestSubmit_RefusesWhileAnotherRolloutRuns(t *testing.T) {
	r := newRig(t, pipeline.Config{})
	r.createApp("hello")
	first, _ := r.start("hello", 1, "  STARTUP_DELAY_MS: \"1500\"\n")

	dir, sp := r.source("hello", 2, "")
	_, _, err := r.submit("hello", dir, sp)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second deploy: err %v, want ErrConflict", err)
	}
	if _, statErr := os.Stat(dir); statErr != nil {
		t.Errorf("the refused deploy's source was taken over: %v", statErr)
	}
	if ro := r.wait(first.ID); ro.State != store.RolloutDone {
		t.Errorf("first deploy ended %s: %s", ro.State, ro.Reason)
	}
	if rs, _ := r.st.Rollouts(context.Background(), r.app("hello").ID, 10); len(rs) != 1 {
		t.Errorf("%d rollouts recorded, want 1", len(rs))
	}
	if runs, _ := r.st.Runs(context.Background(), r.app("hello").ID, 10); len(runs) != 1 {
		t.Errorf("%d runs recorded, want 1: a refused deploy has none", len(runs))
	}
}

// Aborting a rollout while it builds kills the build: the rollout fails
// at once, saying who aborted it, and nothing changed.
func TestAbort_KillsTheBuildAndTheRolloutFailsChangingNothing(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, pipeline.Config{})
	r.createApp("hello")
	r.deployLive("hello", 1, "")

	ro, run := r.start("hello", 2, "build: echo started && sleep 30\n")
	r.waitLog(ro.ID, "started")
	start := time.Now()
	if !r.pl.Abort(ro.ID, "aborted by tester") {
		t.Fatal("the building rollout was not found running")
	}
	ended := r.wait(ro.ID)
	if ended.State != store.RolloutFailed || ended.Reason != "build #2 failed: aborted by tester" {
		t.Errorf("aborted rollout ended %s: %q", ended.State, ended.Reason)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the build was not killed: the rollout ended %s after the abort", d)
	}
	if rels, _ := r.st.Releases(ctx, r.app("hello").ID); len(rels) != 1 {
		t.Errorf("%d releases, want only v1", len(rels))
	}
	v := r.waitRun("hello", run.Number)
	if v.State != store.RunFailed || v.Stages[1].Name != "build" || v.Stages[1].Status != "failed" {
		t.Errorf("the aborted build's run: %s %+v", v.State, v.Stages)
	}
	r.mustServe("hello", 1)
	if r.pl.Abort(ro.ID, "again") {
		t.Error("an ended rollout was aborted")
	}
}

// Cancelling a run while it builds kills its build as an abort does.
func TestCancel_ARunThatBuildsKillsItsBuild(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, pipeline.Config{})
	r.createApp("hello")
	ro, run := r.start("hello", 1, "build: echo started && sleep 30\n")
	r.waitLog(ro.ID, "started")
	got, err := r.pl.Cancel(ctx, r.app("hello"), run.Number, "tester")
	if err != nil || got.State != store.RunCancelled || got.Reason != "cancelled by tester" {
		t.Fatalf("cancel: %+v %v", got, err)
	}
	if ended := r.wait(ro.ID); ended.State != store.RolloutFailed || ended.Reason != "build #1 failed: cancelled by tester" {
		t.Errorf("the cancelled run's rollout ended %s: %q", ended.State, ended.Reason)
	}
	if v := r.waitRun("hello", run.Number); v.State != store.RunCancelled {
		t.Errorf("run %+v, want cancelled", v.Run)
	}
}

// A server that is not root cannot isolate process-runtime apps: only an
// admin's deploy of one is taken, and a refused one changes nothing.
func TestSubmit_ProcessNeedsAdminRefusesAMembersProcessApp(t *testing.T) {
	r := newRig(t, pipeline.Config{ProcessNeedsAdmin: true})
	r.createApp("hello")
	dir, sp := r.source("hello", 1, "")
	_, _, err := r.pl.Submit(context.Background(), pipeline.Source{App: r.app("hello"), Dir: dir, Spec: sp, Trigger: "cli", Label: "cli", By: "ann"})
	if !errors.Is(err, pipeline.ErrForbidden) || !strings.Contains(err.Error(), "only an admin may deploy process-runtime apps") {
		t.Fatalf("a member's process app: %v, want ErrForbidden naming the rule", err)
	}
	if rs, _ := r.st.Rollouts(context.Background(), r.app("hello").ID, 10); len(rs) != 0 {
		t.Errorf("%d rollouts recorded for a refused deploy", len(rs))
	}
	ro, _, err := r.pl.Submit(context.Background(), pipeline.Source{App: r.app("hello"), Dir: dir, Spec: sp, Trigger: "cli", Label: "cli", By: "root", ByAdmin: true})
	if err != nil {
		t.Fatalf("an admin's deploy: %v", err)
	}
	if ro := r.wait(ro.ID); ro.State != store.RolloutDone {
		t.Errorf("the admin's deploy ended %s: %s", ro.State, ro.Reason)
	}
}
