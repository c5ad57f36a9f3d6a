package e2e

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/loadgen"
)

// An instance killed with SIGKILL under load: the proxy retries the requests
// that could not reach it on the other instance and ejects it, the runtime
// restarts it, and the health checks bring it back. No request fails.
func TestKill9_InstanceIsEjectedRestartedAndNoRequestFails(t *testing.T) {
	c := newCluster(t)
	c.mustRun("apps", "create", "hello")
	c.mustRun("deploy", appSource(t, helloSpec("1", "20s")))
	ctx := context.Background()

	load := loadgen.Start(ctx, loadgen.Config{URL: "http://" + c.http, Host: "hello.localhost", Workers: 6, MaxDuration: 2 * time.Minute})
	defer load.Stop()
	time.Sleep(500 * time.Millisecond)

	insts, err := c.client().Instances(ctx, "hello")
	if err != nil || len(insts) != 2 || insts[0].Runtime == nil {
		t.Fatalf("instances: %+v, %v", insts, err)
	}
	victim := insts[0]
	pid := victim.Runtime.PID
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 instance %s (pid %d): %v", victim.ID, pid, err)
	}
	t.Logf("killed %s (pid %d) with SIGKILL", victim.ID, pid)

	// The runtime restarts it on the same address; the proxy re-admits it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		insts, err := c.client().Instances(ctx, "hello")
		if err != nil {
			t.Fatal(err)
		}
		var back bool
		for _, in := range insts {
			if in.ID == victim.ID && in.Runtime != nil && in.Runtime.Restarts >= 1 && in.Runtime.PID != pid && in.Proxy != nil && in.Proxy.Healthy {
				back = true
			}
		}
		if back {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s not restarted and healthy again in 30s: %+v", victim.ID, insts)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	res := load.Stop()
	t.Logf("load: sent %d, ok %d, failed %d", res.Sent, res.OK, res.Failed)
	if res.Failed != 0 {
		t.Fatalf("%d requests failed while an instance was killed: %v", res.Failed, res.Errors)
	}
	status := c.mustRun("status", "hello")
	if !strings.Contains(status, "1 restarts") {
		t.Errorf("status does not show the restart:\n%s", status)
	}
}

// The control plane is killed (SIGKILL) in the middle of a rollout. Traffic
// does not notice (the proxy and instances are their own processes), and the
// restarted server finishes the rollout instead of leaving it half-way.
func TestRestart_ServerKilledMidRolloutFinishesIt(t *testing.T) {
	c := newCluster(t)
	c.mustRun("apps", "create", "hello")
	c.mustRun("deploy", appSource(t, helloSpec("1", "30s")))
	ctx := context.Background()

	load := loadgen.Start(ctx, loadgen.Config{URL: "http://" + c.http, Host: "hello.localhost", Workers: 4, SlowPath: "/slow?ms=1500", SlowWorkers: 2, MaxDuration: 5 * time.Minute})
	defer load.Stop()

	// v2 starts slowly, so the rollout is surely in progress when we kill.
	out := c.mustRun("deploy", "--detach", appSource(t, helloSpec("2", "30s", `STARTUP_DELAY_MS: "1500"`)))
	if !strings.Contains(out, "started") {
		t.Fatalf("detached deploy: %s", out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		rs, err := c.client().Rollouts(ctx, "hello")
		if err == nil && len(rs) > 0 && rs[0].State == "shifting" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rollout never reached shifting: %+v %v", rs, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.killServer()
	t.Log("killed the control plane mid-rollout")
	time.Sleep(2 * time.Second) // traffic goes on without a control plane
	if code, body, err := c.get("hello", "/"); err != nil || code != 200 {
		t.Fatalf("with the control plane down: %d %q %v", code, body, err)
	}

	c.startServer()
	r := c.waitRollout("hello", 2*time.Minute)
	if r.State != "done" && r.State != "rolled_back" {
		t.Fatalf("interrupted rollout ended %s: %s", r.State, r.Reason)
	}
	t.Logf("interrupted rollout #%d ended %s", r.ID, r.State)
	want := "2"
	if r.State == "rolled_back" {
		want = "1"
	}
	assertServes(t, c, want)
	insts, err := c.client().Instances(ctx, "hello")
	if err != nil || len(insts) != 2 {
		t.Fatalf("after recovery, %d active instances (want 2): %+v %v", len(insts), insts, err)
	}
	for _, in := range insts {
		if in.State != "serving" || in.Release != r.ToRelease && r.State == "done" {
			t.Errorf("instance left half-way: %+v", in)
		}
	}
	res := load.Stop()
	t.Logf("load: sent %d, ok %d, failed %d, slow ok %d, versions %s", res.Sent, res.OK, res.Failed, res.Slow, res.VersionList())
	if res.Failed != 0 {
		t.Fatalf("%d requests failed across the control plane crash: %v", res.Failed, res.Errors)
	}
}

// After `nonstop shutdown` stops everything, the next `nonstop server`
// brings the live release of every app back.
func TestRestart_AfterShutdownTheLiveReleaseServesAgain(t *testing.T) {
	c := newCluster(t)
	c.mustRun("apps", "create", "hello")
	c.mustRun("deploy", appSource(t, helloSpec("1", "20s")))
	c.mustRun("deploy", appSource(t, helloSpec("2", "20s")))
	out, err := runBinary("shutdown", "--data", c.data)
	if err != nil {
		t.Fatalf("shutdown: %v\n%s", err, out)
	}
	if _, _, err := c.get("hello", "/"); err == nil {
		t.Fatal("the proxy still answers after shutdown")
	}
	c.startServer()
	c.waitRollout("hello", time.Minute)
	assertServes(t, c, "2")
}
