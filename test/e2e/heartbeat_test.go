package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/loadgen"
)

// The heartbeat after the rollout: an instance that starts failing its
// health checks is ejected at once and replaced; no request fails.
func TestHeartbeat_AnInstanceThatTurnsSickIsEjectedAndReplaced(t *testing.T) {
	c := newCluster(t)
	c.mustRun("apps", "create", "hello")
	c.mustRun("deploy", appSource(t, helloSpec("1", "20s")))
	ctx := context.Background()
	load := loadgen.Start(ctx, loadgen.Config{URL: "http://" + c.http, Host: "hello.localhost", Workers: 4, MaxDuration: 5 * time.Minute})
	defer load.Stop()

	insts, err := c.client().Instances(ctx, "hello")
	if err != nil || len(insts) != 2 {
		t.Fatalf("instances: %+v %v", insts, err)
	}
	sick := insts[0]
	resp, err := http.Post("http://"+sick.Addr+"/sick", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	start := time.Now()
	deadline := start.Add(45 * time.Second)
	for {
		now, _ := c.client().Instances(ctx, "hello")
		gone, serving := true, 0
		for _, in := range now {
			if in.ID == sick.ID {
				gone = false
			}
			if in.State == "serving" {
				serving++
			}
		}
		if gone && serving == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sick instance was not replaced: %+v", now)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("sick instance replaced %s after it turned sick", time.Since(start).Round(time.Millisecond))
	res := load.Stop()
	if res.Failed != 0 {
		t.Fatalf("%d of %d requests failed: %v", res.Failed, res.Sent, res.Errors)
	}
	assertServes(t, c, "1")
}
