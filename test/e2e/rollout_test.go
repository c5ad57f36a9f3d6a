package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/loadgen"
)

// The main promise: five rolling deploys in a row, a release that never
// becomes healthy, and a rollback, all under concurrent load with 1.5 s
// requests in flight at every cut-over, and not one failed request.
func TestZeroDowntime_FiveRolloutsFailedReleaseAndRollbackUnderLoad(t *testing.T) {
	c := newCluster(t)
	c.mustRun("apps", "create", "hello")
	out := c.mustRun("deploy", appSource(t, helloSpec("1", "20s")))
	if !strings.Contains(out, "v1 is live") {
		t.Fatalf("first deploy output:\n%s", out)
	}

	load := loadgen.Start(context.Background(), loadgen.Config{
		URL: "http://" + c.http, Host: "hello.localhost", Workers: 4,
		SlowPath: "/slow?ms=1500", SlowWorkers: 3, MaxDuration: 10 * time.Minute,
	})
	defer load.Stop()
	time.Sleep(500 * time.Millisecond)

	for v := 2; v <= 6; v++ {
		out := c.mustRun("deploy", appSource(t, helloSpec(fmt.Sprint(v), "20s")))
		if !strings.Contains(out, fmt.Sprintf("v%d is live", v)) {
			t.Fatalf("deploy v%d output:\n%s", v, out)
		}
		assertServes(t, c, fmt.Sprint(v))
	}

	// A release whose health check fails: refused, v6 keeps serving.
	out, code := c.run("deploy", appSource(t, helloSpec("7", "3s", `UNHEALTHY: "1"`)))
	if code == 0 {
		t.Fatalf("deploy of an unhealthy release exited 0:\n%s", out)
	}
	for _, want := range []string{"rolled back", "not healthy after 3s", "500", "last log lines", "v7 listening", "v6 keeps serving"} {
		if !strings.Contains(out, want) {
			t.Errorf("failed deploy output lacks %q:\n%s", want, out)
		}
	}
	assertServes(t, c, "6")

	// Rollback: to the release live before the current one.
	out = c.mustRun("rollback", "hello")
	if !strings.Contains(out, "v5 is live") {
		t.Fatalf("rollback output:\n%s", out)
	}
	assertServes(t, c, "5")
	time.Sleep(500 * time.Millisecond)

	res := load.Stop()
	t.Logf("load: sent %d, ok %d, failed %d, slow ok %d, versions %s", res.Sent, res.OK, res.Failed, res.Slow, res.VersionList())
	if res.Failed != 0 {
		t.Fatalf("%d of %d requests failed; first: %v", res.Failed, res.Sent, res.Errors)
	}
	if res.Slow < 10 {
		t.Fatalf("only %d slow requests completed: the cut-overs were not tested with requests in flight", res.Slow)
	}
	for v := 1; v <= 6; v++ {
		if v != 1 && res.Versions[fmt.Sprintf("v%d", v)] == 0 {
			t.Errorf("v%d never served a request under load: %s", v, res.VersionList())
		}
	}
	if res.Versions["v7"] != 0 {
		t.Errorf("the unhealthy v7 served %d requests", res.Versions["v7"])
	}

	rels := c.mustRun("releases", "hello")
	for _, want := range []string{"v7       failed", "v5       live", "v6       retired"} {
		if !strings.Contains(rels, want) {
			t.Errorf("releases lack %q:\n%s", want, rels)
		}
	}
}

// assertServes checks that every answer now comes from version v.
func assertServes(t *testing.T, c *cluster, v string) {
	t.Helper()
	for i := 0; i < 10; i++ {
		code, body, err := c.get("hello", "/")
		if err != nil || code != 200 || !strings.Contains(body, "from v"+v) {
			t.Fatalf("request %d: %d %q %v; want v%s", i, code, body, err, v)
		}
	}
}
