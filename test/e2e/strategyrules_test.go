package e2e

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The rules that make strategies livable: a first deploy has no stable
// side, a canary without traffic says what it waits for, and what it does
// then is the spec's choice.

// quietCanarySpec is a canary whose one step needs 50 requests to judge.
func quietCanarySpec(version, onInconclusive string) string {
	s := strings.Replace(canarySpec(version, "1s"), "      - weight: 10\n        pause: 2s\n", "", 1)
	s = strings.Replace(s, "      min_requests: 20\n", "      min_requests: 50\n", 1)
	if onInconclusive != "" {
		s = strings.Replace(s, "      max_error_rate: 0.05\n", "      max_error_rate: 0.05\n      on_inconclusive: "+onInconclusive+"\n", 1)
	}
	return s
}

func TestFirstDeploy_ACanaryOrBlueGreenAppGoesLiveWithAllItsInstances(t *testing.T) {
	for _, strategy := range []string{"canary", "bluegreen"} {
		t.Run(strategy, func(t *testing.T) {
			c := newCluster(t)
			c.mustRun("apps", "create", "hello")
			spec := quietCanarySpec("1", "")
			if strategy == "bluegreen" {
				spec = strings.Replace(helloSpec("1", "20s"), "  strategy: rolling\n", "  strategy: bluegreen\n", 1) // waits for promote, from the next deploy on
			}
			out := c.mustRun("deploy", appSource(t, spec))
			if !strings.Contains(out, "first deploy of hello") {
				t.Fatalf("the deploy does not say the first one has no stable side:\n%s", out)
			}
			insts, err := c.client().Instances(context.Background(), "hello")
			if err != nil || len(insts) != 2 {
				t.Fatalf("%d instances after the first deploy (%v), want all 2", len(insts), err)
			}
			// Not one client on a half-started canary: every answer is v1.
			for i := 0; i < 100; i++ {
				if code, body, err := c.get("hello", "/"); err != nil || code != 200 || !strings.Contains(body, "from v1") {
					t.Fatalf("request %d after the first deploy: %d %q %v", i, code, body, err)
				}
			}
		})
	}
}

func TestCanary_WithoutTrafficWaitsSayingSoUntilPromoted(t *testing.T) {
	c := newCluster(t)
	c.mustRun("apps", "create", "hello")
	c.mustRun("deploy", appSource(t, helloSpec("1", "20s")))
	c.mustRun("deploy", "--detach", appSource(t, quietCanarySpec("2", "")))
	deadline := time.Now().Add(time.Minute)
	var status string
	for !strings.Contains(status, "waiting:  waiting for traffic: ") {
		if time.Now().After(deadline) {
			t.Fatalf("status never said the canary waits for traffic:\n%s", status)
		}
		time.Sleep(200 * time.Millisecond)
		status, _ = c.run("status", "hello")
	}
	if !strings.Contains(status, "of 50 requests — `nonstop promote hello` to go on, `nonstop abort hello` to roll back") {
		t.Fatalf("status:\n%s", status)
	}
	c.mustRun("promote", "hello")
	if r := c.waitRollout("hello", time.Minute); r.State != "done" {
		t.Fatalf("promoted canary: %s %s", r.State, r.Reason)
	}
	assertServes(t, c, "2")
	if status := c.mustRun("status", "hello"); strings.Contains(status, "waiting:") {
		t.Fatalf("status of a finished rollout still says it waits:\n%s", status)
	}
}

func TestCanary_OnInconclusivePromoteOrRollbackDecidesWhenThePauseEnds(t *testing.T) {
	c := newCluster(t)
	c.mustRun("apps", "create", "hello")
	c.mustRun("deploy", appSource(t, helloSpec("1", "20s")))

	out := c.mustRun("deploy", appSource(t, quietCanarySpec("2", "promote")))
	if !strings.Contains(out, "promoted on health checks alone, as on_inconclusive says") {
		t.Fatalf("on_inconclusive: promote:\n%s", out)
	}
	assertServes(t, c, "2")

	out, code := c.run("deploy", appSource(t, quietCanarySpec("3", "rollback")))
	if code == 0 || !strings.Contains(out, "too little traffic to judge the canary (") {
		t.Fatalf("on_inconclusive: rollback: exit %d\n%s", code, out)
	}
	if r := c.waitRollout("hello", time.Minute); r.State != "rolled_back" {
		t.Fatalf("on_inconclusive: rollback ended %s", r.State)
	}
	assertServes(t, c, "2")
}
