package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/store"
)

func TestRolloutEvents_AreInOrderAndPageAfterAnID(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	app := newApp(t, st, "shop")
	other := newApp(t, st, "other")
	r1 := newRollout(t, st, app)
	r2 := newRollout(t, st, other)

	var mine []int64
	for i := range 7 {
		id, err := st.AddEvent(ctx, store.Event{AppID: app.ID, RolloutID: r1.ID, Kind: "step", Message: fmt.Sprintf("step %d", i), Data: map[string]any{"i": i}})
		if err != nil {
			t.Fatal(err)
		}
		mine = append(mine, id)
		// Events of another rollout interleave.
		if _, err := st.AddEvent(ctx, store.Event{AppID: other.ID, RolloutID: r2.ID, Kind: "log", Message: "noise"}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	var after int64
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		page, err := st.RolloutEvents(ctx, r1.ID, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 3 {
			t.Fatalf("page of %d events, limit 3", len(page))
		}
		for _, e := range page {
			if e.ID <= after {
				t.Errorf("event %d not after %d", e.ID, after)
			}
			if e.RolloutID != r1.ID || e.AppID != app.ID || e.Kind != "step" {
				t.Errorf("event of another rollout or kind: %+v", e)
			}
			if e.Time.IsZero() {
				t.Errorf("event %d has no time", e.ID)
			}
			after = e.ID
			seen = append(seen, e.Message)
		}
	}
	if fmt.Sprint(seen) != "[step 0 step 1 step 2 step 3 step 4 step 5 step 6]" {
		t.Errorf("events %v", seen)
	}
	if tail, _ := st.RolloutEvents(ctx, r1.ID, mine[4], 100); len(tail) != 2 || tail[0].ID != mine[5] || tail[1].ID != mine[6] {
		t.Errorf("events after #%d = %v", mine[4], tail)
	}
}

func TestAddEvent_KeepsTimeAndData(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	app := newApp(t, st, "shop")
	r := newRollout(t, st, app)
	at := time.Date(2025, 1, 2, 3, 4, 5, 600, time.FixedZone("CET", 3600))
	if _, err := st.AddEvent(ctx, store.Event{AppID: app.ID, RolloutID: r.ID, Time: at, Kind: "progress", Message: "1/2",
		Data: map[string]any{"ready": 1, "version": "v2", "ok": true}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddEvent(ctx, store.Event{AppID: app.ID, RolloutID: r.ID, Kind: "state", Message: "no data"}); err != nil {
		t.Fatal(err)
	}
	evs, err := st.RolloutEvents(ctx, r.ID, 0, 10)
	if err != nil || len(evs) != 2 {
		t.Fatalf("events %v err %v", evs, err)
	}
	e := evs[0]
	if !e.Time.Equal(at) {
		t.Errorf("time %v, want %v", e.Time, at)
	}
	if e.Data["ready"] != float64(1) || e.Data["version"] != "v2" || e.Data["ok"] != true {
		t.Errorf("data %v", e.Data)
	}
	if evs[1].Data != nil || evs[1].Time.IsZero() {
		t.Errorf("event without data or time: %+v", evs[1])
	}
}

func TestAddEvent_UnknownAppIsRefused(t *testing.T) {
	st := openMemory(t)
	newApp(t, st, "shop")
	if _, err := st.AddEvent(context.Background(), store.Event{AppID: 999, Kind: "log", Message: "x"}); err == nil {
		t.Error("an event of an app that does not exist was recorded")
	}
}

func TestAppEvents_TheNewestOfTheKindsAskedInTheWindowOldestFirst(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	app, _ := st.CreateApp(ctx, "shop", defaultTeam(t, st), nil)
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for i, kind := range []string{"step", "log", "analysis", "step", "state", "step"} {
		if _, err := st.AddEvent(ctx, store.Event{AppID: app.ID, RolloutID: 1, Time: t0.Add(time.Duration(i) * time.Second), Kind: kind, Message: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.AppEvents(ctx, app.ID, []string{"step", "analysis", "state"}, t0.Add(time.Second), t0.Add(5*time.Second), 2)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, e := range got {
		msgs = append(msgs, e.Message)
	}
	if strings.Join(msgs, " ") != "3 4" {
		t.Errorf("events %v, want the newest two in [1s, 5s) of those kinds: 3 4", msgs)
	}
}
