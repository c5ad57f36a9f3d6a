package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/store"
)

func newRollout(t *testing.T, st *store.Store, app *store.App) *store.Rollout {
	t.Helper()
	r, err := st.CreateRollout(context.Background(), store.Rollout{
		AppID: app.ID, Kind: store.KindDeploy, FromRelease: 1, ToRelease: 2, Instances: 3, Strategy: "rolling", CreatedBy: "mia",
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// walk moves rollout id through states, failing the test at a refusal.
func walk(t *testing.T, st *store.Store, id int64, states ...store.RolloutState) {
	t.Helper()
	for i, s := range states {
		if err := st.Transition(context.Background(), id, s, i, ""); err != nil {
			t.Fatalf("move to %s refused: %v", s, err)
		}
	}
}

func TestCreateRollout_StartsPendingWithWhatItWasGiven(t *testing.T) {
	st := openMemory(t)
	app := newApp(t, st, "shop")
	r := newRollout(t, st, app)
	if r.ID == 0 || r.App != "shop" || r.Kind != store.KindDeploy || r.State != store.RolloutPending ||
		r.FromRelease != 1 || r.ToRelease != 2 || r.Instances != 3 || r.Strategy != "rolling" || r.CreatedBy != "mia" {
		t.Errorf("rollout = %+v", r)
	}
	if r.CreatedAt.IsZero() || !r.FinishedAt.IsZero() {
		t.Errorf("created %v finished %v", r.CreatedAt, r.FinishedAt)
	}
	if err := st.SetRolloutTarget(context.Background(), r.ID, 5, 4); err != nil {
		t.Fatal(err)
	}
	got, _ := st.Rollout(context.Background(), r.ID)
	if got.ToRelease != 5 || got.Instances != 4 {
		t.Errorf("target not recorded: %+v", got)
	}
}

func TestTransition_FollowsTheStateMachine(t *testing.T) {
	paths := [][]store.RolloutState{
		{store.RolloutBuilding, store.RolloutStarting, store.RolloutShifting, store.RolloutShifting, store.RolloutPaused, store.RolloutShifting, store.RolloutVerifying, store.RolloutDone},
		{store.RolloutStarting, store.RolloutVerifying, store.RolloutDone},
		{store.RolloutBuilding, store.RolloutFailed},
		{store.RolloutFailed},
		{store.RolloutStarting, store.RolloutShifting, store.RolloutRollingBack, store.RolloutRolledBack},
		{store.RolloutStarting, store.RolloutShifting, store.RolloutPaused, store.RolloutRollingBack, store.RolloutFailed},
		{store.RolloutStarting, store.RolloutRollingBack, store.RolloutRolledBack},
		{store.RolloutStarting, store.RolloutShifting, store.RolloutVerifying, store.RolloutRollingBack, store.RolloutRolledBack},
		{store.RolloutRollingBack, store.RolloutRolledBack},
	}
	for _, path := range paths {
		t.Run(fmt.Sprint(path), func(t *testing.T) {
			st := openMemory(t)
			r := newRollout(t, st, newApp(t, st, "shop"))
			walk(t, st, r.ID, path...)
			got, _ := st.Rollout(context.Background(), r.ID)
			if got.State != path[len(path)-1] || got.Step != len(path)-1 {
				t.Errorf("state %s step %d, want %s step %d", got.State, got.Step, path[len(path)-1], len(path)-1)
			}
		})
	}
}

func TestTransition_FromAWrongStateIsConflictNamingBothStates(t *testing.T) {
	cases := []struct {
		before []store.RolloutState
		to     store.RolloutState
	}{
		{nil, store.RolloutDone},
		{nil, store.RolloutVerifying},
		{nil, store.RolloutPaused},
		{nil, store.RolloutRolledBack},
		{[]store.RolloutState{store.RolloutBuilding}, store.RolloutShifting},
		{[]store.RolloutState{store.RolloutStarting}, store.RolloutFailed},
		{[]store.RolloutState{store.RolloutStarting, store.RolloutShifting, store.RolloutPaused}, store.RolloutVerifying},
		{[]store.RolloutState{store.RolloutStarting, store.RolloutVerifying}, store.RolloutShifting},
		{[]store.RolloutState{store.RolloutStarting, store.RolloutVerifying, store.RolloutDone}, store.RolloutRollingBack},
		{[]store.RolloutState{store.RolloutFailed}, store.RolloutStarting},
		{[]store.RolloutState{store.RolloutRollingBack, store.RolloutRolledBack}, store.RolloutRollingBack},
		{[]store.RolloutState{store.RolloutRollingBack, store.RolloutRolledBack}, store.RolloutDone},
	}
	for _, c := range cases {
		from := store.RolloutPending
		if len(c.before) > 0 {
			from = c.before[len(c.before)-1]
		}
		t.Run(fmt.Sprintf("%s to %s", from, c.to), func(t *testing.T) {
			ctx := context.Background()
			st := openMemory(t)
			r := newRollout(t, st, newApp(t, st, "shop"))
			walk(t, st, r.ID, c.before...)
			before, _ := st.Rollout(ctx, r.ID)
			err := st.Transition(ctx, r.ID, c.to, 42, "should not stick")
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("err %v, want ErrConflict", err)
			}
			for _, name := range []string{string(from), string(c.to)} {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("error %q does not name state %q", err, name)
				}
			}
			after, _ := st.Rollout(ctx, r.ID)
			if after.State != from || after.Step != before.Step || after.Reason != before.Reason || !after.FinishedAt.Equal(before.FinishedAt) {
				t.Errorf("refused move changed the rollout: %+v", after)
			}
		})
	}
}

func TestTransition_UnknownStateIsRefused(t *testing.T) {
	st := openMemory(t)
	r := newRollout(t, st, newApp(t, st, "shop"))
	if err := st.Transition(context.Background(), r.ID, store.RolloutState("exploding"), 1, ""); err == nil {
		t.Fatal("moved to an unknown state")
	}
	got, _ := st.Rollout(context.Background(), r.ID)
	if got.State != store.RolloutPending {
		t.Errorf("state %s", got.State)
	}
}

func TestTransition_TerminalStateSetsFinishedAtAndKeepsTheReason(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	clock := &manualClock{}
	clock.Set(epoch)
	st.SetClock(clock.Now)
	r := newRollout(t, st, newApp(t, st, "shop"))

	clock.Set(epoch.Add(time.Second))
	if err := st.Transition(ctx, r.ID, store.RolloutStarting, 0, ""); err != nil {
		t.Fatal(err)
	}
	if err := st.Transition(ctx, r.ID, store.RolloutRollingBack, 3, "instance x: not healthy after 5s"); err != nil {
		t.Fatal(err)
	}
	mid, _ := st.Rollout(ctx, r.ID)
	if !mid.FinishedAt.IsZero() {
		t.Errorf("finished_at %v set on a non-terminal state", mid.FinishedAt)
	}
	if mid.Reason != "instance x: not healthy after 5s" || mid.Step != 3 {
		t.Errorf("reason %q step %d", mid.Reason, mid.Step)
	}
	if !mid.UpdatedAt.Equal(epoch.Add(time.Second)) {
		t.Errorf("updated_at %v, want %v", mid.UpdatedAt, epoch.Add(time.Second))
	}

	end := epoch.Add(90 * time.Second)
	clock.Set(end)
	if err := st.Transition(ctx, r.ID, store.RolloutRolledBack, 4, ""); err != nil {
		t.Fatal(err)
	}
	got, _ := st.Rollout(ctx, r.ID)
	if !got.FinishedAt.Equal(end) {
		t.Errorf("finished_at %v, want %v", got.FinishedAt, end)
	}
	if got.Reason != "instance x: not healthy after 5s" {
		t.Errorf("an empty reason replaced the recorded one: %q", got.Reason)
	}
	if !got.State.Terminal() || got.State.Succeeded() {
		t.Errorf("rolled_back: terminal %v succeeded %v", got.State.Terminal(), got.State.Succeeded())
	}
}

func TestTransition_UnknownRolloutIsAnError(t *testing.T) {
	st := openMemory(t)
	newApp(t, st, "shop")
	if err := st.Transition(context.Background(), 777, store.RolloutBuilding, 0, ""); err == nil {
		t.Error("moved a rollout that does not exist")
	}
}

func TestRolloutState_ValidAndTerminal(t *testing.T) {
	all := []store.RolloutState{store.RolloutPending, store.RolloutBuilding, store.RolloutStarting, store.RolloutShifting,
		store.RolloutPaused, store.RolloutVerifying, store.RolloutDone, store.RolloutFailed, store.RolloutRollingBack, store.RolloutRolledBack}
	for _, s := range all {
		if !s.Valid() {
			t.Errorf("%s not valid", s)
		}
		terminal := s == store.RolloutDone || s == store.RolloutFailed || s == store.RolloutRolledBack
		if s.Terminal() != terminal {
			t.Errorf("%s terminal = %v", s, s.Terminal())
		}
	}
	if store.RolloutState("").Valid() || store.RolloutState("DONE").Valid() {
		t.Error("unknown states reported valid")
	}
}

func TestCreateRollout_RefusesASecondUnfinishedRolloutOfTheSameApp(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	app := newApp(t, st, "shop")
	other := newApp(t, st, "other")
	first := newRollout(t, st, app)
	walk(t, st, first.ID, store.RolloutStarting, store.RolloutShifting)

	_, err := st.CreateRollout(ctx, store.Rollout{AppID: app.ID, Kind: store.KindScale, Strategy: "rolling"})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second rollout: err %v, want ErrConflict", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprint(first.ID)) {
		t.Errorf("error %q should name the rollout in progress", err)
	}
	if rs, _ := st.Rollouts(ctx, app.ID, 10); len(rs) != 1 {
		t.Errorf("%d rollouts recorded, want 1", len(rs))
	}
	if _, err := st.CreateRollout(ctx, store.Rollout{AppID: other.ID, Kind: store.KindDeploy, Strategy: "rolling"}); err != nil {
		t.Errorf("another app's rollout refused: %v", err)
	}

	walk(t, st, first.ID, store.RolloutRollingBack, store.RolloutRolledBack)
	second, err := st.CreateRollout(ctx, store.Rollout{AppID: app.ID, Kind: store.KindScale, Strategy: "rolling"})
	if err != nil {
		t.Fatalf("rollout after the first ended: %v", err)
	}
	rs, _ := st.Rollouts(ctx, app.ID, 10)
	if len(rs) != 2 || rs[0].ID != second.ID || rs[1].ID != first.ID {
		t.Errorf("Rollouts not newest first: %v", rs)
	}
}

func TestUnfinishedRollouts_ListsRolloutsNotOverOldestFirst(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	a, b, c := newApp(t, st, "a"), newApp(t, st, "b"), newApp(t, st, "c")
	ra := newRollout(t, st, a)
	walk(t, st, ra.ID, store.RolloutStarting, store.RolloutShifting)
	rb := newRollout(t, st, b)
	walk(t, st, rb.ID, store.RolloutStarting, store.RolloutVerifying, store.RolloutDone)
	rc := newRollout(t, st, c)
	walk(t, st, rc.ID, store.RolloutRollingBack)
	got, err := st.UnfinishedRollouts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != ra.ID || got[1].ID != rc.ID {
		t.Errorf("unfinished = %v, want #%d and #%d", got, ra.ID, rc.ID)
	}
}

func TestLastDoneRollout_IsTheLatestThatMadeAReleaseLive(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	app := newApp(t, st, "shop")
	if _, err := st.LastDoneRollout(ctx, app.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("no rollout yet: %v", err)
	}
	finish := func(kind store.RolloutKind, from, to int, end store.RolloutState) int64 {
		r, err := st.CreateRollout(ctx, store.Rollout{AppID: app.ID, Kind: kind, FromRelease: from, ToRelease: to, Strategy: "rolling"})
		if err != nil {
			t.Fatal(err)
		}
		if end == store.RolloutDone {
			walk(t, st, r.ID, store.RolloutStarting, store.RolloutVerifying, store.RolloutDone)
		} else {
			walk(t, st, r.ID, store.RolloutStarting, store.RolloutRollingBack, store.RolloutRolledBack)
		}
		return r.ID
	}
	finish(store.KindDeploy, 0, 1, store.RolloutDone)
	want := finish(store.KindDeploy, 1, 2, store.RolloutDone)
	finish(store.KindScale, 2, 2, store.RolloutDone)
	finish(store.KindDeploy, 2, 3, store.RolloutRolledBack)
	got, err := st.LastDoneRollout(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != want || got.FromRelease != 1 {
		t.Errorf("last done = #%d from v%d, want #%d from v1 (a scale or a rolled back deploy does not count)", got.ID, got.FromRelease, want)
	}
}
