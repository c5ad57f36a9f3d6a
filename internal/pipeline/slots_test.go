package pipeline_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/pipeline"
	"github.com/nonstopdev/nonstop/internal/rollout"
	"github.com/nonstopdev/nonstop/internal/store"
)

// Builds of several apps share a pool of workers: with one worker, two
// builds run one after the other, and the second says it waits.
func TestBuildWorkers_LimitHowManyBuildsRunAtOnce(t *testing.T) {
	r := newRig(t, pipeline.Config{BuildWorkers: 1})
	marks := filepath.Join(r.data, "marks")
	var ros []*store.Rollout
	for _, name := range []string{"one", "two"} {
		r.createApp(name)
		ro, _ := r.start(name, 1, "build: echo start $(date +%s%N) >> "+marks+" && sleep 1 && echo end $(date +%s%N) >> "+marks+"\n")
		ros = append(ros, ro)
	}
	for _, ro := range ros {
		if got := r.wait(ro.ID); got.State != store.RolloutDone {
			t.Fatalf("rollout #%d: %s %s", got.ID, got.State, got.Reason)
		}
	}
	b, _ := os.ReadFile(marks)
	lines := strings.Fields(string(b))
	// start T end T start T end T: the second build started after the first ended.
	if len(lines) != 8 || lines[0] != "start" || lines[2] != "end" || lines[4] != "start" {
		t.Fatalf("builds overlapped or did not run:\n%s", b)
	}
	end1, _ := strconv.ParseInt(lines[3], 10, 64)
	start2, _ := strconv.ParseInt(lines[5], 10, 64)
	if start2 < end1 {
		t.Fatalf("the second build started %s before the first ended", time.Duration(end1-start2))
	}
	waited := false
	for _, ro := range ros {
		for _, e := range r.events(ro.ID) {
			if strings.Contains(e.Message, "waiting for a build worker") {
				waited = true
			}
		}
	}
	if !waited {
		t.Error("no build said it waited for a worker")
	}
}

// An app's build_labels pick the build worker: a build that asks for a label
// no worker here has is refused before anything is recorded.
func TestBuildLabels_ABuildNeedingALabelNoWorkerHasIsRefused(t *testing.T) {
	r := newRig(t, pipeline.Config{BuildLabels: []string{"local", "linux", "amd64"}})
	r.createApp("gpu")
	for _, c := range []struct {
		labels string
		ok     bool
	}{{"[gpu]", false}, {"[local, linux]", true}} {
		labels, ok := c.labels, c.ok
		dir, sp := r.source("gpu", 1, "build_labels: "+labels+"\n")
		ro, _, err := r.submit("gpu", dir, sp)
		if !ok {
			if !errors.Is(err, rollout.ErrInvalid) || !strings.Contains(err.Error(), `label "gpu"`) {
				t.Fatalf("build_labels %s: %v", labels, err)
			}
			if rs, _ := r.st.Rollouts(context.Background(), r.app("gpu").ID, 10); len(rs) != 0 {
				t.Fatalf("a refused build recorded a rollout: %+v", rs)
			}
			continue
		}
		if err != nil {
			t.Fatalf("build_labels %s: %v", labels, err)
		}
		if got := r.wait(ro.ID); got.State != store.RolloutDone {
			t.Fatalf("build_labels %s: %s %s", labels, got.State, got.Reason)
		}
	}
}
