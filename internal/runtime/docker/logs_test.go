package docker

import (
	"bufio"
	"context"
	"testing"
	"time"
)

func TestLogs_InterleavesStdoutAndStderrAndTails(t *testing.T) {
	rt := newRuntime(t)
	spec := testSpec("logs")
	inst := start(t, rt, spec)
	waitServing(t, inst.Addr, "/healthz")
	// Docker copies stdout and stderr by separate readers, so two lines
	// written back to back on the two streams may be logged in either
	// order: each line is waited for before the next is written.
	for _, say := range []struct{ q, line string }{{"m=one", "one\n"}, {"m=two&stderr=1", "two\n"}, {"m=three", "three\n"}} {
		if _, ok := get(inst.Addr, "/say?"+say.q); !ok {
			t.Fatalf("say %s failed", say.q)
		}
		waitLog(t, rt, spec.ID, say.line)
	}
	if out := logText(t, rt, spec.ID, 0); out != "listening on :8080\none\ntwo\nthree\n" {
		t.Errorf("all output %q", out)
	}
	if out := logText(t, rt, spec.ID, 2); out != "two\nthree\n" {
		t.Errorf("last 2 lines %q, want two, three", out)
	}
}

func TestLogs_FollowStreamsNewLinesUntilClosed(t *testing.T) {
	rt := newRuntime(t)
	spec := testSpec("follow")
	inst := start(t, rt, spec)
	waitServing(t, inst.Addr, "/healthz")

	ctx, cancel := context.WithTimeout(t.Context(), waitTime)
	defer cancel()
	rc, err := rt.Logs(ctx, spec.ID, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(rc)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func() string {
		select {
		case l := <-lines:
			return l
		case <-time.After(waitTime):
			t.Fatal("timed out waiting for a line")
			return ""
		}
	}
	if l := next(); l != "listening on :8080" {
		t.Errorf("first line %q, want the last line so far", l)
	}
	get(inst.Addr, "/say?m=later&stderr=1")
	if l := next(); l != "later" {
		t.Errorf("followed line %q, want later", l)
	}
	if err := rc.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	select {
	case <-done:
	case l := <-lines:
		t.Errorf("line %q after close", l)
	case <-time.After(waitTime):
		t.Fatal("the reader did not end on close")
	}
}
