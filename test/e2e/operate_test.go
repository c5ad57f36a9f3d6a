package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/loadgen"
)

// The day-to-day commands, each through the built CLI, each health-gated:
// scale, env set (a new release), logs, stop (maintenance page), start.
func TestOperate_ScaleEnvLogsStopStart(t *testing.T) {
	c := newCluster(t)
	c.mustRun("apps", "create", "hello", "--domain", "hello.example.test")
	c.mustRun("deploy", appSource(t, helloSpec("1", "20s")))
	ctx := context.Background()

	load := loadgen.Start(ctx, loadgen.Config{URL: "http://" + c.http, Host: "hello.localhost", Workers: 2, MaxDuration: 5 * time.Minute})
	defer load.Stop()

	out := c.mustRun("scale", "hello", "3")
	if !strings.Contains(out, "v1 is live") {
		t.Fatalf("scale output:\n%s", out)
	}
	if insts, _ := c.client().Instances(ctx, "hello"); len(insts) != 3 {
		t.Fatalf("after scale 3: %d instances", len(insts))
	}
	c.mustRun("scale", "hello", "2")

	out = c.mustRun("env", "set", "hello", "GREETING=bonjour", "API_KEY=s3cret-value")
	if !strings.Contains(out, "v2 is live") {
		t.Fatalf("env set output:\n%s", out)
	}
	if code, body, _ := c.get("hello", "/"); code != 200 || !strings.Contains(body, "bonjour from v1") {
		t.Fatalf("after env set: %d %q", code, body)
	}
	list := c.mustRun("env", "list", "hello")
	if strings.Contains(list, "s3cret-value") || !strings.Contains(list, "API_KEY=********") {
		t.Errorf("env list shows a secret:\n%s", list)
	}
	if reveal := c.mustRun("env", "list", "hello", "--reveal"); !strings.Contains(reveal, "API_KEY=s3cret-value") {
		t.Errorf("env list --reveal:\n%s", reveal)
	}

	// The app's domain routes too.
	if code, body, err := c.getHost("hello.example.test", "/"); err != nil || code != 200 {
		t.Errorf("domain route: %d %q %v", code, body, err)
	}
	logs := c.mustRun("logs", "hello", "-n", "5")
	if !strings.Contains(logs, "v1 listening on 127.0.0.1:") || !strings.Contains(logs, "[hello-v2-") {
		t.Errorf("logs:\n%s", logs)
	}

	res := load.Stop()
	if res.Failed != 0 {
		t.Fatalf("%d of %d requests failed during scale and env changes: %v", res.Failed, res.Sent, res.Errors)
	}
	t.Logf("load: sent %d, failed %d", res.Sent, res.Failed)

	out = c.mustRun("stop", "hello")
	if !strings.Contains(out, "stopped") {
		t.Fatalf("stop output:\n%s", out)
	}
	code, body, err := c.get("hello", "/")
	if err != nil || code != 503 || !strings.Contains(body, "hello") || !strings.Contains(body, "maintenance") {
		t.Fatalf("stopped app answers %d %q %v; want a 503 maintenance page naming it", code, body, err)
	}
	if insts, _ := c.client().Instances(ctx, "hello"); len(insts) != 0 {
		t.Fatalf("stopped app still has %d instances", len(insts))
	}
	c.mustRun("start", "hello")
	assertServes(t, c, "1")
	if code, body, _ := c.get("unknown-app", "/"); code != 404 || !strings.Contains(body, "unknown-app.localhost") {
		t.Errorf("unknown host: %d %q; want a 404 naming the host", code, body)
	}
	c.mustRun("apps", "delete", "hello")
	if code, _, _ := c.get("hello", "/"); code != 404 {
		t.Errorf("deleted app answers %d", code)
	}
}
