package rollout_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/clock"
	"github.com/nonstopdev/nonstop/internal/store"
)

// canaryYAML is the hello app with a canary of one step paused an hour,
// analysed every ten minutes: only a fake clock gets through it in a test.
func canaryYAML(name string, version int) string {
	return strings.Replace(release{Version: version, Instances: 2}.yaml(name), "  strategy: rolling\n", `  strategy: canary
  canary:
    steps:
      - weight: 50
        pause: 1h
    analysis:
      interval: 10m
      min_requests: 5
      max_error_rate: 0.05
`, 1)
}

func TestEngine_ACanaryStepRunsByTheClockNotByTheWall(t *testing.T) {
	r := newRig(t)
	fake := clock.NewFake(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	r.eng.Close()
	r.clock = fake
	r.st.SetClock(fake.Now) // the history's times from the same clock
	r.eng = r.newEngine(r.rt)
	r.createApp("hello")
	if first := r.wait(r.deployWith("hello", canaryYAML("hello", 1)).ID); first.State != store.RolloutDone { // a first deploy: no steps
		t.Fatalf("first deploy ended %s: %s", first.State, first.Reason)
	}
	r.mustServe("hello", 1)

	ro := r.deployWith("hello", canaryYAML("hello", 2))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The step's analysis ticker is the one thing waiting on the clock.
	if err := fake.WaitFor(ctx, 1); err != nil {
		t.Fatalf("the canary never reached its step: %v", err)
	}
	if rt, _ := r.route("hello"); rt.Split == nil || rt.Split.Release != 2 || rt.Split.Weight != 50 {
		t.Fatalf("at step 1 the route's split is %+v, want 50%% on v2", rt.Split)
	}
	for range 40 {
		if code, _, _ := r.get("hello", "/"); code != 200 {
			t.Fatalf("GET / = %d during the canary", code)
		}
	}
	fake.Advance(10 * time.Minute) // one analysis interval
	if !eventually(10*time.Second, func() bool { return hasEvent(r.events(ro.ID), "analysis passed") }) {
		t.Fatal("no analysis passed after one interval of the fake clock")
	}
	// The verdict carries the numbers it judged, over the window it
	// covered, against the limits: what the dashboard marks on its chart.
	for _, e := range r.events(ro.ID) {
		if !strings.HasPrefix(e.Message, "analysis passed") {
			continue
		}
		d := e.Data
		if d["verdict"] != "pass" || d["canary_requests"].(float64) < 5 || d["max_error_rate"] != 0.05 || d["min_requests"] != 5.0 ||
			d["from"] != "2026-12-02T10:00:00Z" || d["to"] != "2026-12-02T10:10:00Z" {
			t.Errorf("the analysis's data %v: want a pass over 10:00..10:10 with its counts and limits", d)
		}
	}
	cur, err := r.st.Rollout(ctx, ro.ID)
	if err != nil || cur.State.Terminal() {
		t.Fatalf("the rollout ended before its pause was over: %v %v", cur, err)
	}
	fake.Advance(time.Hour) // the pause
	// What follows (the full switch, the replacement, the proxy's verify)
	// polls by the clock too: keep it moving.
	go func() {
		for ctx.Err() == nil {
			fake.Advance(100 * time.Millisecond)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	end := r.wait(ro.ID)
	if end.State != store.RolloutDone {
		t.Fatalf("canary ended %s: %s", end.State, end.Reason)
	}
	r.mustServe("hello", 2)
	if rt, _ := r.route("hello"); rt.Split != nil {
		t.Errorf("after the canary the route still splits: %+v", rt.Split)
	}
}

func hasEvent(evs []store.Event, prefix string) bool {
	for _, e := range evs {
		if strings.HasPrefix(e.Message, prefix) {
			return true
		}
	}
	return false
}
