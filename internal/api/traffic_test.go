package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/history"
)

// An app's traffic, as the sampler recorded it from the proxy, by release
// and in all, with its rollout marked on the same time axis.
func TestTraffic_AnAppsRequestsByReleaseWithItsRolloutMarked(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	s.createApp("echo")
	s.deployLive("echo", 1)
	sampler := history.New(history.Config{Store: s.st, Proxy: s.px})
	// Readings of steps that ended (the answer leaves out the step in
	// progress).
	now := time.Now().Add(-history.Fine)
	sampler.Tick(ctx, now.Add(-history.Fine)) // the baseline
	for range 40 {
		if code, _ := s.getApp("echo"); code != 200 {
			t.Fatalf("echo answered %d", code)
		}
	}
	sampler.Tick(ctx, now)

	h, err := s.admin.Traffic(ctx, "echo", "10m", "10s")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, n := range h.Total.Requests {
		total += n
	}
	if total != 40 || h.Step != "10s" || len(h.Times) != 60 || len(h.Total.RPS) != 60 {
		t.Errorf("10 minutes by 10s: %d requests in %d points (step %s), want 40 in 60", total, len(h.Times), h.Step)
	}
	if len(h.Releases) != 1 || h.Releases[0].Release != 1 {
		t.Errorf("releases %+v, want v1 alone", h.Releases)
	}
	var states []string
	for _, m := range h.Marks {
		if m.Kind == "state" {
			states = append(states, m.Text)
		}
	}
	if !strings.Contains(strings.Join(states, "|"), "done") {
		t.Errorf("the marks' states %q: want the deploy's end", states)
	}

	for q, want := range map[string]string{"1y": "since", "-5m": "since", "soon": "since"} {
		if _, err := s.admin.Traffic(ctx, "echo", q, ""); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("since=%s: %v, want it refused naming %s", q, err, want)
		}
	}
	if _, err := s.admin.Traffic(ctx, "echo", "", "fast"); err == nil || !strings.Contains(err.Error(), "step") {
		t.Errorf("step=fast: %v, want it refused naming step", err)
	}
}
