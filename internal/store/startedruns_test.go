package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nonstopdev/nonstop/internal/store"
)

// An upload's run is running from the start: the queue never sees it.
func TestCreateStartedRun_IsRunningAtOnceAndOneRunOfAnAppRuns(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	app := newApp(t, st, "shop")
	queued, _ := st.CreateRun(ctx, store.Run{AppID: app.ID, Trigger: "webhook", StartedBy: "github"})
	run, err := st.CreateStartedRun(ctx, store.Run{AppID: app.ID, Trigger: "cli", Commit: "abc", StartedBy: "admin", RolloutID: 7, FetchLog: "source uploaded by admin"})
	if err != nil {
		t.Fatal(err)
	}
	if run.Number != 2 || run.State != store.RunRunning || run.RolloutID != 7 || run.FetchLog != "source uploaded by admin" ||
		run.StartedAt.IsZero() || run.FetchedAt.IsZero() || run.Commit != "abc" {
		t.Errorf("started run = %+v", run)
	}
	if next, _ := st.NextQueuedRun(ctx, app.ID); next != nil {
		t.Errorf("queued: %+v", next)
	}
	if got, _ := st.Run(ctx, app.ID, queued.Number); got.State != store.RunSuperseded {
		t.Errorf("the queued run is %s, want superseded", got.State)
	}
	if _, err := st.CreateStartedRun(ctx, store.Run{AppID: app.ID, Trigger: "cli", StartedBy: "admin"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second running run: %v, want ErrConflict", err)
	}
}
