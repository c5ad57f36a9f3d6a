package notify

import "testing"

func TestLine_OneHumanLinePerKind(t *testing.T) {
	base := Event{App: "hello", Rollout: 7, Release: 3, From: 2, Strategy: "canary"}
	with := func(kind string, step int, reason string) Event {
		e := base
		e.Kind, e.Step, e.Reason = kind, step, reason
		return e
	}
	tests := []struct {
		e    Event
		want string
	}{
		{with(KindStarted, 0, ""), "hello: rollout #7 to v3 started (canary, from v2)"},
		{with(KindStepPassed, 2, ""), "hello: rollout #7 to v3 passed step 2"},
		{with(KindPaused, 2, "waiting for nonstop promote"), "hello: rollout #7 to v3 paused at step 2: waiting for nonstop promote"},
		{with(KindResumed, 2, ""), "hello: rollout #7 to v3 resumed at step 2"},
		{with(KindFailed, 1, "health check timed out"), "hello: rollout #7 to v3 failed: health check timed out"},
		{with(KindRolledBack, 1, "canary analysis failed:\n  5xx rate 12% > 1%"), "hello: rollout #7 to v3 rolled back: canary analysis failed: 5xx rate 12% > 1%"},
		{with(KindSucceeded, 0, ""), "hello: rollout #7 to v3 succeeded"},
		{Event{Kind: KindStarted, App: "api", Rollout: 1, Release: 1, Strategy: "rolling"}, "api: rollout #1 to v1 started (rolling)"},
	}
	for _, tt := range tests {
		if got := tt.e.Line(); got != tt.want {
			t.Errorf("%s: Line() = %q, want %q", tt.e.Kind, got, tt.want)
		}
	}
}
