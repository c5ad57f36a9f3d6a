package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/store"
)

func TestSamples_AreKeptByStepAndReadBackInOrder(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	team := defaultTeam(t, st)
	a, _ := st.CreateApp(ctx, "shop", team, nil)
	b, _ := st.CreateApp(ctx, "blog", team, nil)
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	in := []store.Sample{
		{AppID: a.ID, Release: 2, Step: 10 * time.Second, At: t0.Add(10 * time.Second), Requests: 40, Errors: 1, Latency: []int64{30, 9, 0, 1}},
		{AppID: a.ID, Release: 1, Step: 10 * time.Second, At: t0, Requests: 100, ConnErrors: 2, Latency: []int64{90, 10, 300}},
		{AppID: b.ID, Release: 1, Step: 10 * time.Second, At: t0, Requests: 5, Latency: []int64{5}},
		{AppID: a.ID, Release: 1, Step: time.Minute, At: t0, Requests: 600, Latency: []int64{600}},
	}
	if err := st.AddSamples(ctx, in); err != nil {
		t.Fatal(err)
	}
	// Recorded again (a rollup after a restart): kept as it was.
	again := in[1]
	again.Requests = 1
	if err := st.AddSamples(ctx, []store.Sample{again}); err != nil {
		t.Fatal(err)
	}
	got, err := st.Samples(ctx, a.ID, 10*time.Second, t0, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.Sample{in[1], in[0]}; !reflect.DeepEqual(got, want) {
		t.Errorf("shop's 10s samples:\n got %+v\nwant %+v", got, want)
	}
	if all, _ := st.Samples(ctx, 0, 10*time.Second, t0, t0.Add(10*time.Second)); len(all) != 2 {
		t.Errorf("every app's samples at t0: %+v, want shop's and blog's", all)
	}
	if n, err := st.PruneSamples(ctx, 10*time.Second, t0.Add(10*time.Second)); err != nil || n != 2 {
		t.Errorf("prune the 10s samples before t0+10s: %d %v, want 2", n, err)
	}
	if left, _ := st.Samples(ctx, a.ID, time.Minute, t0, t0.Add(time.Hour)); len(left) != 1 {
		t.Errorf("the minute sample after pruning 10s ones: %+v", left)
	}
	if err := st.DeleteApp(ctx, "blog"); err != nil {
		t.Fatal(err)
	}
	if left, _ := st.Samples(ctx, b.ID, 10*time.Second, t0, t0.Add(time.Hour)); len(left) != 0 {
		t.Errorf("a deleted app's samples: %+v", left)
	}
}
