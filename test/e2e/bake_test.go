package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/loadgen"
)

// A regression that shows only after the rollout is over is caught in the
// bake window and rolled back by itself.
func TestBake_ARegressionAfterPromotionRollsBackByItself(t *testing.T) {
	c := newCluster(t)
	c.mustRun("apps", "create", "hello")
	c.mustRun("deploy", appSource(t, helloSpec("1", "20s")))
	load := loadgen.Start(context.Background(), loadgen.Config{URL: "http://" + c.http, Host: "hello.localhost", Workers: 4, MaxDuration: 5 * time.Minute})
	defer load.Stop()

	spec := strings.Replace(helloSpec("2", "20s", `FAIL_PERCENT: "40"`, `FAIL_AFTER_MS: "5000"`), "  stop_timeout: 5s\n",
		"  stop_timeout: 5s\n  bake: 30s\n  analysis:\n    interval: 1s\n    min_requests: 20\n    max_error_rate: 0.05\n", 1)
	out := c.mustRun("deploy", appSource(t, spec))
	if !strings.Contains(out, "v2 is live") {
		t.Fatalf("deploy v2:\n%s", out)
	}
	start := time.Now()
	deadline := start.Add(30 * time.Second)
	for {
		rs, _ := c.client().Rollouts(context.Background(), "hello")
		if len(rs) > 0 && rs[0].Kind == "rollback" && rs[0].State == "done" {
			if !strings.Contains(rs[0].CreatedBy, "bake of v2") {
				t.Errorf("the rollback was made by %q", rs[0].CreatedBy)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no rollback within the bake window: %+v", rs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("rolled back %s after v2 went live", time.Since(start).Round(time.Millisecond))
	assertServes(t, c, "1")
	res := load.Stop()
	for _, e := range res.Errors {
		if !strings.Contains(e, "injected failure from v2") {
			t.Errorf("a failure that is not the regression's own: %s", e)
		}
	}
}
