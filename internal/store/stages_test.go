package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/store"
)

func TestRunStages_AStageStartsOnceAndEndsOnce(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	app := newApp(t, st, "shop")
	run, err := st.CreateRun(ctx, store.Run{AppID: app.ID, Trigger: "upload", StartedBy: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	at := func(ms int) time.Time { return epoch.Add(time.Duration(ms) * time.Millisecond) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.StartStage(ctx, run.ID, "build", at(0)))
	must(st.StartStage(ctx, run.ID, "build", at(50))) // a resumed run: the first start stays
	must(st.FinishStage(ctx, run.ID, "build", store.StageOK, at(100)))
	must(st.FinishStage(ctx, run.ID, "build", store.StageFailed, at(200))) // over already: kept
	// A stage whose start was never seen is recorded as starting when it ended.
	must(st.FinishStage(ctx, run.ID, "verify", store.StageOK, at(300)))
	must(st.StartStage(ctx, run.ID, "deploy", at(150)))

	got, err := st.RunStages(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.RunStage{
		{RunID: run.ID, Name: "build", Status: store.StageOK, StartedAt: at(0), FinishedAt: at(100)},
		{RunID: run.ID, Name: "deploy", Status: store.StageRunning, StartedAt: at(150)},
		{RunID: run.ID, Name: "verify", Status: store.StageOK, StartedAt: at(300), FinishedAt: at(300)},
	}
	if len(got) != len(want) {
		t.Fatalf("stages %v, want %v", got, want)
	}
	for i, s := range got {
		if *s != want[i] {
			t.Errorf("stage %d = %+v, want %+v", i, *s, want[i])
		}
	}
}

// Runs recorded before the stages table keep the stages their rows and
// their rollouts' histories showed.
func TestMigrate_RunsOfAnOlderSchemaGetTheirStages(t *testing.T) {
	ctx := context.Background()
	st, path := openFile(t)
	clk := &manualClock{}
	st.SetClock(clk.Now)
	app := newApp(t, st, "shop")
	at := func(s int) time.Time { return epoch.Add(time.Duration(s) * time.Second) }

	// Run #1: fetched, built, pushed, deployed, verified, done.
	// Run #2: fetched, built, rolled back while it deployed.
	// Run #3: its fetch failed.
	var runs []*store.Run
	for i := range 3 {
		clk.Set(at(10 * i))
		run, err := st.CreateRun(ctx, store.Run{AppID: app.ID, Trigger: "webhook", StartedBy: "github"})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.StartRun(ctx, run.ID); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			clk.Set(at(10*i + 1))
			st.FetchedRun(ctx, run.ID, "abc", "fetched")
		}
		runs = append(runs, run)
		if i == 2 {
			st.FinishRun(ctx, run.ID, store.RunFailed, "fetch: no such ref")
			continue
		}
		ro, err := st.CreateRollout(ctx, store.Rollout{AppID: app.ID, Kind: store.KindDeploy, Strategy: "rolling"})
		if err != nil {
			t.Fatal(err)
		}
		st.SetRunRollout(ctx, run.ID, ro.ID)
		step := func(s int, to store.RolloutState) {
			t.Helper()
			clk.Set(at(10*i + s))
			if err := st.Transition(ctx, ro.ID, to, 0, ""); err != nil {
				t.Fatal(err)
			}
		}
		event := func(s int, kind, msg string) {
			clk.Set(at(10*i + s))
			st.AddEvent(ctx, store.Event{AppID: app.ID, RolloutID: ro.ID, Kind: kind, Message: msg})
		}
		step(2, store.RolloutBuilding)
		if i == 0 {
			event(3, "stage", "push")
		}
		event(4, "release", "release v1 created from build #1")
		step(5, store.RolloutStarting)
		if i == 0 {
			step(6, store.RolloutVerifying)
			step(7, store.RolloutDone)
			st.FinishRun(ctx, run.ID, store.RunSucceeded, "")
		} else {
			step(6, store.RolloutRollingBack)
			step(7, store.RolloutRolledBack)
			st.FinishRun(ctx, run.ID, store.RunFailed, "unhealthy")
		}
	}
	st.Close()

	// Back to schema 5, as an older nonstop left it.
	db := rawDB(t, path)
	if _, err := db.Exec(`DROP TABLE run_stages; ALTER TABLE tokens DROP COLUMN expires_at; DROP TABLE sessions; DROP TABLE audit; DROP TABLE samples; DELETE FROM schema_migrations WHERE version >= 6`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	show := func(run *store.Run) string {
		stages, err := st.RunStages(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := ""
		for _, s := range stages {
			end := "open"
			if !s.FinishedAt.IsZero() {
				end = s.FinishedAt.Sub(epoch).String()
			}
			out += fmt.Sprintf("%s %s %s-%s; ", s.Name, s.Status, s.StartedAt.Sub(epoch), end)
		}
		return out
	}
	for i, want := range []string{
		"fetch ok 0s-1s; build ok 2s-3s; push ok 3s-4s; deploy ok 5s-6s; verify ok 6s-7s; ",
		"fetch ok 10s-11s; build ok 12s-14s; deploy failed 15s-16s; ",
		"fetch failed 20s-open; ",
	} {
		if got := show(runs[i]); got != want {
			t.Errorf("run #%d: stages\n%s\nwant\n%s", i+1, got, want)
		}
	}
}
