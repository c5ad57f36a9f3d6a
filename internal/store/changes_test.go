package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/store"
)

func woken(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-time.After(time.Second):
		return false
	}
}

func TestWatch_WakesOnTheRolloutsWritesItAsksFor(t *testing.T) {
	ctx := context.Background()
	s := openMemory(t)
	app := newApp(t, s, "web")
	r, err := s.CreateRollout(ctx, store.Rollout{AppID: app.ID, Kind: store.KindDeploy, Strategy: "rolling"})
	if err != nil {
		t.Fatal(err)
	}
	mine, stopMine := s.Watch(func(c store.Change) bool { return c.Rollout == r.ID })
	defer stopMine()
	other, stopOther := s.Watch(func(c store.Change) bool { return c.Rollout == r.ID+1 })
	defer stopOther()

	if err := s.Transition(ctx, r.ID, store.RolloutStarting, 0, ""); err != nil {
		t.Fatal(err)
	}
	if !woken(mine) {
		t.Fatal("a transition of the rollout did not wake its watcher")
	}
	select {
	case <-other:
		t.Fatal("a watcher of another rollout was woken")
	default:
	}
	// Two writes while nobody reads merge into one wake-up, and lose none.
	s.AddEvent(ctx, store.Event{AppID: app.ID, RolloutID: r.ID, Kind: "log", Message: "a"})
	s.AddEvent(ctx, store.Event{AppID: app.ID, RolloutID: r.ID, Kind: "log", Message: "b"})
	if !woken(mine) {
		t.Fatal("events of the rollout did not wake its watcher")
	}
	stopMine()
	s.Transition(ctx, r.ID, store.RolloutShifting, 1, "")
	select {
	case <-mine:
		t.Fatal("woken after stop")
	case <-time.After(50 * time.Millisecond):
	}
}

func TestWatch_WakesOnRunWrites(t *testing.T) {
	ctx := context.Background()
	s := openMemory(t)
	app := newApp(t, s, "web")
	runs, stop := s.Watch(func(c store.Change) bool { return c.Run != 0 })
	defer stop()
	run, err := s.CreateRun(ctx, store.Run{AppID: app.ID, Trigger: "poll"})
	if err != nil {
		t.Fatal(err)
	}
	if !woken(runs) {
		t.Fatal("creating a run woke nobody")
	}
	if err := s.FinishRun(ctx, run.ID, store.RunCancelled, "test"); err != nil {
		t.Fatal(err)
	}
	if !woken(runs) {
		t.Fatal("finishing a run woke nobody")
	}
}
