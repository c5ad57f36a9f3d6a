package proxy

import (
	"io"
	"strings"
	"testing"
)

func TestReplayBody_ReplaysOnlyWhileUnread(t *testing.T) {
	rb := newReplayBody(strings.NewReader("payload"))
	first, ok := rb.attempt()
	if !ok {
		t.Fatal("first attempt refused")
	}
	first.Close() // what http.Transport does on a failed dial
	second, ok := rb.attempt()
	if !ok {
		t.Fatal("an unread body must be replayable")
	}
	if _, err := first.Read(make([]byte, 1)); err != errAttemptOver {
		t.Fatalf("an abandoned attempt read: %v", err)
	}
	b, err := io.ReadAll(second)
	if err != nil || string(b) != "payload" {
		t.Fatalf("read %q, %v", b, err)
	}
	if _, ok := rb.attempt(); ok {
		t.Fatal("a read body must not be replayed")
	}
}
