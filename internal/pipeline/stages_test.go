package pipeline_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/pipeline"
	"github.com/nonstopdev/nonstop/internal/store"
)

// statuses is "name status, ..." of a run's stages.
func statuses(v *pipeline.RunView) string {
	var out []string
	for _, s := range v.Stages {
		out = append(out, s.Name+" "+s.Status)
	}
	return strings.Join(out, ", ")
}

// A run's stages are recorded as it goes: each one starts when the one
// before it ended, and lasts what it took.
func TestView_StagesOfARunThatWentLive(t *testing.T) {
	r := newRig(t, pipeline.Config{})
	r.createApp("hello")
	_, run := r.start("hello", 1, "build: sleep 0.2\n")
	v := r.waitRun("hello", run.Number)
	if v.State != store.RunSucceeded {
		t.Fatalf("run ended %s: %s", v.State, v.Reason)
	}
	if got := statuses(v); got != "fetch ok, build ok, push skipped, deploy ok, verify ok" {
		t.Fatalf("stages: %s", got)
	}
	build := v.Stages[1]
	if build.Duration < 200*time.Millisecond || build.Duration != build.Finished.Sub(build.Started) {
		t.Errorf("the build stage lasted %s (%s to %s), want its 200ms at least", build.Duration, build.Started, build.Finished)
	}
	var last pipeline.Stage
	for _, s := range v.Stages {
		if s.Status == "skipped" {
			continue
		}
		if s.Started.IsZero() || s.Finished.Before(s.Started) || s.Started.Before(last.Finished) {
			t.Errorf("stage %s ran %s to %s, after %s ended %s", s.Name, s.Started, s.Finished, last.Name, last.Finished)
		}
		last = s
	}
}

// A run fails in the stage it was in: its build, or its deploy when the
// new release was rolled back; the stages after it are skipped.
func TestView_ARunFailsInTheStageItWasIn(t *testing.T) {
	r := newRig(t, pipeline.Config{})
	r.createApp("hello")
	for _, c := range []struct {
		extra, want string
	}{
		{"build: exit 3\n", "fetch ok, build failed, push skipped, deploy skipped, verify skipped"},
		{"  UNHEALTHY: \"1\"\n", "fetch ok, build ok, push skipped, deploy failed, verify skipped"},
	} {
		dir, sp := r.source("hello", 1, c.extra)
		sp.Health.StartTimeout = time.Second
		_, run, err := r.submit("hello", dir, sp)
		if err != nil {
			t.Fatal(err)
		}
		v := r.waitRun("hello", run.Number)
		if got := statuses(v); v.State != store.RunFailed || got != c.want {
			t.Errorf("%q: run %s with stages %s, want failed with %s", c.extra, v.State, got, c.want)
		}
	}
}

// While a run deploys, its stages say so.
func TestView_AStageInProgressIsRunning(t *testing.T) {
	r := newRig(t, pipeline.Config{})
	r.createApp("hello")
	_, run := r.start("hello", 1, "  STARTUP_DELAY_MS: \"2000\"\n")
	var seen string
	r.waitFor("the deploy stage runs", func() bool {
		got, _ := r.st.Run(t.Context(), run.AppID, run.Number)
		v, err := r.pl.View(t.Context(), got)
		if err != nil {
			t.Fatal(err)
		}
		seen = statuses(v)
		return seen == "fetch ok, build ok, push pending, deploy running, verify pending"
	})
	if v := r.waitRun("hello", run.Number); v.State != store.RunSucceeded {
		t.Errorf("run ended %s: %s (stages seen: %s)", v.State, v.Reason, seen)
	}
}
