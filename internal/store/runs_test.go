package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/store"
)

func TestRuns_NumberedPerAppAndANewerOneSupersedesTheQueued(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	app := newApp(t, st, "shop")
	other := newApp(t, st, "blog")
	r1, err := st.CreateRun(ctx, store.Run{AppID: app.ID, Trigger: "webhook", Commit: "aaa", StartedBy: "github"})
	if err != nil || r1.Number != 1 || r1.State != store.RunQueued {
		t.Fatalf("first run: %+v %v", r1, err)
	}
	if o, _ := st.CreateRun(ctx, store.Run{AppID: other.ID, Trigger: "poll", StartedBy: "poll"}); o.Number != 1 {
		t.Fatalf("numbers are per app: %+v", o)
	}
	r2, _ := st.CreateRun(ctx, store.Run{AppID: app.ID, Trigger: "webhook", Commit: "bbb", StartedBy: "github"})
	if got, _ := st.Run(ctx, app.ID, 1); got.State != store.RunSuperseded || got.Reason != "superseded by run #2" || got.FinishedAt.IsZero() {
		t.Fatalf("the older queued run: %+v", got)
	}
	if next, _ := st.NextQueuedRun(ctx, app.ID); next == nil || next.Number != r2.Number {
		t.Fatalf("next queued: %+v", next)
	}
	if err := st.StartRun(ctx, r1.ID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a superseded run started: %v", err)
	}
	if err := st.StartRun(ctx, r2.ID); err != nil {
		t.Fatal(err)
	}
	r3, _ := st.CreateRun(ctx, store.Run{AppID: app.ID, Trigger: "poll", StartedBy: "poll"})
	if err := st.StartRun(ctx, r3.ID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("two runs of one app ran at once: %v", err)
	}
	if got, _ := st.Run(ctx, app.ID, 2); got.State != store.RunRunning {
		t.Fatalf("a running run was superseded: %+v", got)
	}
	st.FetchedRun(ctx, r2.ID, "bbbccc", "fetched")
	st.SetRunRollout(ctx, r2.ID, 7)
	st.FinishRun(ctx, r2.ID, store.RunSucceeded, "")
	st.FinishRun(ctx, r2.ID, store.RunFailed, "too late") // already over: kept
	got, _ := st.Run(ctx, app.ID, 2)
	if got.State != store.RunSucceeded || got.Commit != "bbbccc" || got.RolloutID != 7 || got.FetchLog != "fetched" || got.FetchedAt.IsZero() {
		t.Fatalf("finished run: %+v", got)
	}
	if list, _ := st.Runs(ctx, app.ID, 10); len(list) != 3 || list[0].Number != 3 {
		t.Fatalf("runs newest first: %+v", list)
	}
}

func TestDeliveries_ASecondDeliveryOfTheSameIDIsSeen(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	app := newApp(t, st, "shop")
	if fresh, err := st.RecordDelivery(ctx, app.ID, "github", "d-1"); !fresh || err != nil {
		t.Fatalf("first delivery: %v %v", fresh, err)
	}
	if fresh, _ := st.RecordDelivery(ctx, app.ID, "github", "d-1"); fresh {
		t.Fatal("a redelivery counted as new")
	}
	if fresh, _ := st.RecordDelivery(ctx, app.ID, "gitlab", "d-1"); !fresh {
		t.Fatal("the same id from another forge is another delivery")
	}
}

func TestAppSource_IsRecordedWithMainAsTheDefaultBranch(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	app := newApp(t, st, "shop")
	if got, _ := st.App(ctx, "shop"); got.Source.Branch != "main" || got.Source.Repo != "" {
		t.Fatalf("new app's source: %+v", got.Source)
	}
	st.SetAppSource(ctx, app.ID, store.Source{Repo: "file:///srv/shop.git", Branch: "prod", Poll: 30 * time.Second})
	st.SetWebhookSecret(ctx, app.ID, "s3cret")
	got, _ := st.App(ctx, "shop")
	if got.Source != (store.Source{Repo: "file:///srv/shop.git", Branch: "prod", Poll: 30 * time.Second}) || got.WebhookSecret != "s3cret" {
		t.Fatalf("source %+v secret %q", got.Source, got.WebhookSecret)
	}
}
