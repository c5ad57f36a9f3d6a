package e2e

import (
	"context"
	"os/exec"
	"os/user"
	"regexp"
	"strings"
	"testing"
	"time"
)

// `nonstop demo` is the first thing a newcomer runs: it must work and prove
// its claim, every time.
func TestDemo_RollsOutUnderLoadAndReportsZeroFailed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "demo", "--exit", "--api", freeAddr(t), "--http", freeAddr(t)).CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{"requests failed:    0\n", "v3 (broken):        rolled_back", "v2 rollout:         done", "demo stopped"} {
		if !strings.Contains(s, want) {
			t.Errorf("demo output lacks %q:\n%s", want, s)
		}
	}
	if m := regexp.MustCompile(`requests sent:\s+(\d+)`).FindStringSubmatch(s); m == nil || len(m[1]) < 3 {
		t.Errorf("demo sent too few requests to prove anything:\n%s", s)
	}
	if m := regexp.MustCompile(`versions served:\s+v1: \d+, v2: \d+`).FindString(s); m == "" {
		t.Errorf("demo did not serve both versions:\n%s", s)
	}
	// Run as root, its app ran as an account of its own, which goes
	// with the demo.
	m := regexp.MustCompile(`runs as (nst-[a-z0-9-]+)`).FindStringSubmatch(s)
	if m == nil {
		t.Errorf("the demo's build did not run as an account of its own (the suite runs as root):\n%s", s)
	} else if _, err := user.Lookup(m[1]); err == nil {
		t.Errorf("the demo left its app's account %s behind", m[1])
	}
	t.Logf("%s", s[strings.Index(s, "== summary"):])
}
