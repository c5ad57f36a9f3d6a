package process

import (
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSupervisor_RestartsACrashWithBackoffOnTheSamePort(t *testing.T) {
	var mu sync.Mutex
	var events []Event
	rt := newRuntime(t, "", Options{
		BackoffMin: 50 * time.Millisecond,
		BackoffMax: 400 * time.Millisecond,
		OnEvent: func(e Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		},
	})
	spec := testSpec(t, "crash-1", `echo "start port=$PORT"; sleep 0.1; exit 3`)
	inst := start(t, rt, spec)
	waitFor(t, "two restarts", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(events) >= 4 && status(t, rt, spec.ID).Restarts >= 2
	})

	_, port, _ := net.SplitHostPort(inst.Addr)
	out := logText(t, rt, spec.ID, 0)
	starts := regexp.MustCompile(`start port=(\d+)`).FindAllStringSubmatch(out, -1)
	if len(starts) < 3 {
		t.Fatalf("output %q: want 3 starts", out)
	}
	for _, m := range starts {
		if m[1] != port {
			t.Fatalf("started on port %s, want %s", m[1], port)
		}
	}
	for _, line := range []string{
		"[nonstop] instance exited (code 3); restarting in 50ms\n",
		"[nonstop] instance exited (code 3); restarting in 100ms\n",
	} {
		if !strings.Contains(out, line) {
			t.Fatalf("output %q: no line %q", out, line)
		}
	}
	if rec, err := rt.loadRecord(spec.ID); err != nil || rec.Restarts < 2 || rec.PID == inst.PID {
		t.Fatalf("state.json %+v, %v: want the restarts and the new pid", rec, err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(events) < 4 {
		t.Fatalf("events %+v: want exited, restarted, exited, restarted", events)
	}
	if e := events[0]; e.Kind != EventExited || e.ExitCode != 3 || e.PID != inst.PID || e.ID != spec.ID {
		t.Errorf("first event %+v: want exited, code 3, pid %d", e, inst.PID)
	}
	if e := events[1]; e.Kind != EventRestarted || e.Restarts != 1 || e.PID == inst.PID {
		t.Errorf("second event %+v: want restarted with a new pid", e)
	}
}

func TestNextBackoff(t *testing.T) {
	const min, max = 500 * time.Millisecond, 4 * time.Second
	for _, c := range []struct {
		prev, ran, want time.Duration
	}{
		{0, time.Second, min},
		{min, time.Second, time.Second},
		{2 * time.Second, time.Second, max},
		{max, time.Second, max},
		{max, stableAfter, min},
	} {
		if got := nextBackoff(c.prev, c.ran, min, max); got != c.want {
			t.Errorf("nextBackoff(%v, ran %v) = %v, want %v", c.prev, c.ran, got, c.want)
		}
	}
}
