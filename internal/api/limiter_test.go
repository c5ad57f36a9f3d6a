package api

import (
	"testing"
	"time"
)

func TestLimiter_RefusesAKeyPastItsFailuresUntilTheyAgeOut(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	l := newLimiter(3, 10*time.Minute, func() time.Time { return now })
	for i := range 3 {
		if w := l.wait("ann"); w != 0 {
			t.Fatalf("try %d: wait %s, want none", i+1, w)
		}
		l.fail("ann")
		now = now.Add(time.Minute)
	}
	if w := l.wait("ann"); w != 7*time.Minute {
		t.Errorf("after 3 failures: wait %s, want 7m (until the first is 10m old)", w)
	}
	if w := l.wait("bob"); w != 0 {
		t.Errorf("another key: wait %s", w)
	}
	now = now.Add(7 * time.Minute)
	if w := l.wait("ann"); w != 0 {
		t.Errorf("once the first failure aged out: wait %s", w)
	}
	l.fail("ann")
	l.reset("ann")
	if w := l.wait("ann"); w != 0 || len(l.fails) != 0 {
		t.Errorf("after a success: wait %s, %d keys kept", w, len(l.fails))
	}
}
