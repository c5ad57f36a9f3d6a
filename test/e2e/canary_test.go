package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/loadgen"
	"github.com/nonstopdev/nonstop/internal/wire"
)

// canarySpec is the hello app rolled out as a canary: 10 %, then 50 %,
// each step analysed every second on at least 20 requests.
func canarySpec(version string, pause2 string, env ...string) string {
	s := fmt.Sprintf(`name: hello
build: go build -o app main.go
run: ./app
instances: 2
health:
  path: /healthz
  interval: 200ms
  timeout: 1s
  start_timeout: 20s
deploy:
  strategy: canary
  max_surge: 1
  max_unavailable: 0
  drain_timeout: 10s
  stop_timeout: 5s
  canary:
    steps:
      - weight: 10
        pause: 2s
      - weight: 50
        pause: %s
    analysis:
      interval: 1s
      min_requests: 20
      max_error_rate: 0.05
env:
  VERSION: "%s"
`, pause2, version)
	for _, e := range env {
		s += "  " + e + "\n"
	}
	return s
}

func TestCanary_HealthyIsPromotedThroughItsStepsAndBadOnesAbort(t *testing.T) {
	c := newCluster(t)
	c.mustRun("apps", "create", "hello")
	c.mustRun("deploy", appSource(t, helloSpec("1", "20s")))
	load := loadgen.Start(context.Background(), loadgen.Config{URL: "http://" + c.http, Host: "hello.localhost", Workers: 4,
		SlowPath: "/slow?ms=500", SlowWorkers: 1, MaxDuration: 10 * time.Minute})
	defer load.Stop()

	// A healthy canary goes 10 %, 50 %, 100 %: zero failed requests.
	out := c.mustRun("deploy", appSource(t, canarySpec("2", "2s")))
	for _, want := range []string{"canary step 1/2: 10% of clients on v2", "canary step 2/2: 50%", "analysis passed", "v2 is live"} {
		if !strings.Contains(out, want) {
			t.Errorf("healthy canary output lacks %q:\n%s", want, out)
		}
	}
	res := load.Snapshot()
	if res.Failed != 0 || res.Versions["v2"] == 0 {
		t.Fatalf("during the healthy canary: %+v", res)
	}
	assertServes(t, c, "2")

	// A canary that answers 500 to half its requests: aborted by the
	// analysis, stable back to 100 %; no failure but the canary's own.
	start := time.Now()
	out, code := c.run("deploy", appSource(t, canarySpec("3", "2s", `FAIL_PERCENT: "50"`)))
	// The analysis sees the error rate; the proxy may also have ejected the
	// canary first for its 5xx in a row, which the heartbeat reports.
	judged := strings.Contains(out, "canary analysis failed: error rate") || strings.Contains(out, "canary heartbeat failed")
	if code == 0 || !judged || !strings.Contains(out, "v2 keeps serving") {
		t.Fatalf("failing canary: exit %d\n%s", code, out)
	}
	t.Logf("failing canary refused in %s", time.Since(start).Round(time.Millisecond))
	// From the moment the canary took traffic to the abort: within two
	// analysis intervals (1 s each here).
	rs, _ := c.client().Rollouts(context.Background(), "hello")
	var tookTraffic, aborted time.Time
	c.client().Follow(context.Background(), "hello", rs[0].ID, func(e wire.Event) {
		switch {
		case strings.HasPrefix(e.Message, "canary step 1/2") && tookTraffic.IsZero():
			tookTraffic = e.Time
		case strings.Contains(e.Message, ": rolling_back:") && aborted.IsZero():
			aborted = e.Time
		}
	})
	if d := aborted.Sub(tookTraffic); tookTraffic.IsZero() || aborted.IsZero() || d > 2*time.Second+300*time.Millisecond {
		t.Errorf("the failing canary was aborted %s after it took traffic, want within two 1 s intervals", d)
	} else {
		t.Logf("the failing canary was aborted %s after it took traffic", d.Round(time.Millisecond))
	}
	res = load.Snapshot()
	for _, e := range res.Errors {
		if !strings.Contains(e, "injected failure from v3") {
			t.Errorf("a failure that is not the canary's own: %s", e)
		}
	}
	failedThen := res.Failed
	time.Sleep(2 * time.Second)
	if now := load.Snapshot(); now.Failed != failedThen {
		t.Fatalf("requests still fail after the abort: %d → %d", failedThen, now.Failed)
	}
	assertServes(t, c, "2")

	// A canary whose heartbeat stops mid-step: traffic back to stable.
	out, code = c.run("deploy", appSource(t, canarySpec("4", "30s", `UNHEALTHY_AFTER_MS: "3000"`)))
	if code == 0 || !strings.Contains(out, "heartbeat failed") {
		t.Fatalf("a canary whose heartbeat stops: exit %d\n%s", code, out)
	}
	assertServes(t, c, "2")
	res = load.Stop()
	t.Logf("load: sent %d, failed %d (the failing canary's own 500s), versions %s", res.Sent, res.Failed, res.VersionList())
	if res.Versions["v4"] == 0 {
		t.Errorf("the v4 canary never served: its stop was not mid-step")
	}
}

// A client keeps its version for the whole rollout: the proxy's cookie.
func TestCanary_AClientWithItsCookieSeesOneVersion(t *testing.T) {
	c := newCluster(t)
	c.mustRun("apps", "create", "hello")
	c.mustRun("deploy", appSource(t, helloSpec("1", "20s")))
	manual := strings.Replace(canarySpec("2", "manual"), "weight: 10\n        pause: 2s\n      - weight: 50", "weight: 50\n        pause: manual\n      - weight: 80", 1)
	c.mustRun("deploy", "--detach", appSource(t, manual))
	deadline := time.Now().Add(time.Minute)
	for {
		rs, _ := c.client().Rollouts(context.Background(), "hello")
		if len(rs) > 0 && rs[0].Step == 1 && rs[0].State == "shifting" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the canary never reached its first step")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	clientsOn := map[string]int{}
	for i := 0; i < 20; i++ {
		jar, _ := cookiejar.New(nil)
		client := &http.Client{Jar: jar, Timeout: 5 * time.Second}
		versions := map[string]int{}
		for j := 0; j < 200; j++ {
			req, _ := http.NewRequest("GET", "http://"+c.http+"/", nil)
			req.Host = "hello.localhost"
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			versions[resp.Header.Get("X-Version")]++
		}
		if len(versions) != 1 {
			t.Errorf("client %d saw %v across 200 requests, want one version", i, versions)
		}
		for v := range versions {
			clientsOn[v]++
		}
	}
	if clientsOn["1"] == 0 || clientsOn["2"] == 0 {
		t.Errorf("at 50%%, clients were on %v: want some on each version", clientsOn)
	}
	// pause and resume hold and release the step.
	c.mustRun("pause", "hello")
	waitState := func(want string) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			rs, _ := c.client().Rollouts(context.Background(), "hello")
			if len(rs) > 0 && string(rs[0].State) == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("rollout never %s: %+v", want, rs)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitState("paused")
	c.mustRun("resume", "hello")
	waitState("shifting")
	c.mustRun("promote", "hello", "--full")
	if r := c.waitRollout("hello", time.Minute); r.State != "done" {
		t.Fatalf("promoted canary: %s %s", r.State, r.Reason)
	}
	assertServes(t, c, "2")
}
