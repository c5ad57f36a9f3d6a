package process

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

func TestLogs_CapturesStdoutAndStderrAndTails(t *testing.T) {
	rt := newRuntime(t, "", Options{})
	spec := testSpec(t, "logs-1", `echo out1; echo err1 >&2; echo out2; echo err2 >&2; exec sleep 1000`)
	start(t, rt, spec)
	waitLog(t, rt, spec.ID, "err2\n")

	if got, want := logText(t, rt, spec.ID, 0), "out1\nerr1\nout2\nerr2\n"; got != want {
		t.Fatalf("all output %q, want %q", got, want)
	}
	if got, want := logText(t, rt, spec.ID, 2), "out2\nerr2\n"; got != want {
		t.Fatalf("tail 2 %q, want %q", got, want)
	}
	if got, want := logText(t, rt, spec.ID, 10), "out1\nerr1\nout2\nerr2\n"; got != want {
		t.Fatalf("tail 10 %q, want %q", got, want)
	}
}

func TestLogs_FollowStreamsNewOutputUntilClosedOrCanceled(t *testing.T) {
	rt := newRuntime(t, "", Options{})
	spec := testSpec(t, "follow-1", `echo first; sleep 0.3; echo second; exec sleep 1000`)
	start(t, rt, spec)
	waitLog(t, rt, spec.ID, "first\n")

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	rc, err := rt.Logs(ctx, spec.ID, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(rc)
	var got []string
	for len(got) < 2 && lines.Scan() {
		got = append(got, lines.Text())
	}
	if strings.Join(got, ",") != "first,second" {
		t.Fatalf("followed lines %q (%v), want first, second", got, lines.Err())
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(rc)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let ReadAll block in its wait for output
	if err := rc.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("read after close: %v, want io.EOF", err)
	}

	ctx2, cancel2 := context.WithCancel(t.Context())
	rc2, err := rt.Logs(ctx2, spec.ID, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	defer rc2.Close()
	go func() {
		time.Sleep(50 * time.Millisecond)
		cancel2()
	}()
	b, err := io.ReadAll(rc2)
	if err != nil || string(b) != "first\nsecond\n" {
		t.Fatalf("read until cancel: %q, %v", b, err)
	}
}

func TestTailOffset(t *testing.T) {
	for _, c := range []struct {
		text string
		n    int
		want string
	}{
		{"a\nb\nc\n", 1, "c\n"},
		{"a\nb\nc\n", 2, "b\nc\n"},
		{"a\nb\nc\n", 3, "a\nb\nc\n"},
		{"a\nb\nc\n", 9, "a\nb\nc\n"},
		{"a\nb\nc", 1, "c"},
		{"a\nb\nc", 2, "b\nc"},
		{"a\n\n", 1, "\n"},
		{"", 3, ""},
		{"a\nb\n", 0, "a\nb\n"},
		{strings.Repeat("x", 70000) + "\n" + strings.Repeat("y", 70000) + "\nz\n", 2, strings.Repeat("y", 70000) + "\nz\n"},
	} {
		off, err := tailOffset(strings.NewReader(c.text), int64(len(c.text)), c.n)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.text[off:]; got != c.want {
			t.Errorf("tail %d of %.20q: %.20q, want %.20q", c.n, c.text, got, c.want)
		}
	}
}
