package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/loadgen"
)

func blueGreenSpec(version string) string {
	return strings.Replace(helloSpec(version, "20s"), "  strategy: rolling\n", "  strategy: bluegreen\n  bluegreen:\n    auto_promote_after: 0s\n    keep_old_for: 10m\n", 1)
}

// Blue-green: the new set is served at its preview host before it takes
// traffic, promote switches every client at once, and while the old set is
// warm a rollback is one more switch. Load runs through it all.
func TestBlueGreen_PreviewPromoteAndInstantRollback(t *testing.T) {
	c := newCluster(t)
	c.mustRun("apps", "create", "hello")
	c.mustRun("deploy", appSource(t, helloSpec("1", "20s")))
	load := loadgen.Start(context.Background(), loadgen.Config{URL: "http://" + c.http, Host: "hello.localhost", Workers: 4,
		SlowPath: "/slow?ms=500", SlowWorkers: 1, MaxDuration: 10 * time.Minute})
	defer load.Stop()

	c.mustRun("deploy", "--detach", appSource(t, blueGreenSpec("2")))
	deadline := time.Now().Add(time.Minute)
	for {
		code, body, err := c.getHost("v2.hello.localhost", "/")
		if err == nil && code == 200 && strings.Contains(body, "from v2") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the preview host never served v2: %d %q %v", code, body, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if before := load.Snapshot(); before.Versions["v2"] != 0 {
		t.Fatalf("v2 took traffic before promote: %s", before.VersionList())
	}
	assertServes(t, c, "1")
	_, port, _ := strings.Cut(c.http, ":")
	deadline = time.Now().Add(10 * time.Second)
	for status := ""; !strings.Contains(status, "waiting:  waiting for promote: try v2 at http://v2.hello.localhost:"+port+"/ — `nonstop promote hello`"); {
		if time.Now().After(deadline) {
			t.Fatalf("status does not say the rollout waits for promote, with the preview URL on the proxy's port:\n%s", status)
		}
		time.Sleep(100 * time.Millisecond)
		status = c.mustRun("status", "hello")
	}

	c.mustRun("promote", "hello")
	if r := c.waitRollout("hello", time.Minute); r.State != "done" {
		t.Fatalf("blue-green rollout: %s %s", r.State, r.Reason)
	}
	// No mix after the switch: every request now is v2.
	for i := 0; i < 200; i++ {
		if code, body, err := c.get("hello", "/"); err != nil || code != 200 || !strings.Contains(body, "from v2") {
			t.Fatalf("request %d after promote: %d %q %v", i, code, body, err)
		}
	}
	insts, _ := c.client().Instances(context.Background(), "hello")
	if len(insts) != 4 {
		t.Fatalf("%d instances after promote, want 4: the old set kept warm", len(insts))
	}

	start := time.Now()
	c.mustRun("rollback", "hello")
	took := time.Since(start)
	assertServes(t, c, "1")
	t.Logf("rollback to the warm set took %s", took.Round(time.Millisecond))
	res := load.Stop()
	t.Logf("load: sent %d, failed %d, versions %s", res.Sent, res.Failed, res.VersionList())
	if res.Failed != 0 {
		t.Fatalf("%d requests failed: %v", res.Failed, res.Errors)
	}
}

// A restart of the control plane while the new set waits for its promotion
// changes nothing: the clients stay on the live set, the preview serves the
// new one, and the switch still waits for promote.
func TestBlueGreen_ARestartWhileWaitingForPromotionKeepsEveryClientOnLive(t *testing.T) {
	c := newCluster(t)
	c.mustRun("apps", "create", "hello")
	c.mustRun("deploy", appSource(t, helloSpec("1", "20s")))
	c.mustRun("deploy", "--detach", appSource(t, blueGreenSpec("2")))
	deadline := time.Now().Add(time.Minute)
	for {
		if code, body, _ := c.getHost("v2.hello.localhost", "/"); code == 200 && strings.Contains(body, "from v2") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the preview never served v2")
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.killServer()
	c.startServer()
	time.Sleep(2 * time.Second) // the resumed rollout has had time to do anything wrong
	for i := 0; i < 50; i++ {
		if code, body, err := c.get("hello", "/"); err != nil || code != 200 || !strings.Contains(body, "from v1") {
			t.Fatalf("request %d after the restart: %d %q %v; want v1 until promote", i, code, body, err)
		}
	}
	if code, body, _ := c.getHost("v2.hello.localhost", "/"); code != 200 || !strings.Contains(body, "from v2") {
		t.Fatalf("the preview after the restart: %d %q", code, body)
	}
	rs, _ := c.client().Rollouts(context.Background(), "hello")
	if rs[0].State.Terminal() {
		t.Fatalf("the blue-green rollout ended by itself: %s %s", rs[0].State, rs[0].Reason)
	}
	c.mustRun("promote", "hello")
	if r := c.waitRollout("hello", time.Minute); r.State != "done" {
		t.Fatalf("promoted after the restart: %s %s", r.State, r.Reason)
	}
	assertServes(t, c, "2")
}

// `nonstop deploy --strategy bluegreen` rolls a rolling spec out blue-green.
func TestBlueGreen_TheStrategyFlagOverridesTheSpec(t *testing.T) {
	c := newCluster(t)
	c.mustRun("apps", "create", "hello")
	c.mustRun("deploy", appSource(t, helloSpec("1", "20s")))
	c.mustRun("deploy", "--detach", "--strategy", "bluegreen", appSource(t, helloSpec("2", "20s")))
	deadline := time.Now().Add(time.Minute)
	for {
		if code, body, _ := c.getHost("v2.hello.localhost", "/"); code == 200 && strings.Contains(body, "from v2") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the preview never served v2")
		}
		time.Sleep(100 * time.Millisecond)
	}
	assertServes(t, c, "1")
	c.mustRun("promote", "hello")
	if r := c.waitRollout("hello", time.Minute); r.State != "done" || r.Strategy != "bluegreen" {
		t.Fatalf("rollout: %s %s %s", r.Strategy, r.State, r.Reason)
	}
	assertServes(t, c, "2")
	if out, code := c.run("deploy", "--strategy", "yolo", appSource(t, helloSpec("3", "20s"))); code == 0 || !strings.Contains(out, "use rolling, bluegreen or canary") {
		t.Fatalf("an unknown strategy: exit %d\n%s", code, out)
	}
}
