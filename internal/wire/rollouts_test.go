package wire

import "testing"

func TestRolloutState_TerminalOnlyWhenOver(t *testing.T) {
	for _, s := range []RolloutState{RolloutPending, RolloutBuilding, RolloutStarting, RolloutShifting, RolloutPaused, RolloutVerifying, RolloutRollingBack} {
		if !s.Valid() || s.Terminal() || s.Succeeded() {
			t.Errorf("%s: valid %v, terminal %v, succeeded %v; want valid, not over", s, s.Valid(), s.Terminal(), s.Succeeded())
		}
	}
	for _, s := range []RolloutState{RolloutDone, RolloutFailed, RolloutRolledBack} {
		if !s.Valid() || !s.Terminal() || s.Succeeded() != (s == RolloutDone) {
			t.Errorf("%s: valid %v, terminal %v, succeeded %v", s, s.Valid(), s.Terminal(), s.Succeeded())
		}
	}
	if RolloutState("exploded").Valid() {
		t.Error("an unknown state is valid")
	}
}

func TestRunState_TerminalOnceNeitherQueuedNorRunning(t *testing.T) {
	for s, over := range map[RunState]bool{RunQueued: false, RunRunning: false, RunSucceeded: true, RunFailed: true, RunCancelled: true, RunSuperseded: true} {
		if s.Terminal() != over || s.Succeeded() != (s == RunSucceeded) {
			t.Errorf("%s: terminal %v, succeeded %v", s, s.Terminal(), s.Succeeded())
		}
	}
}
