package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/store"
)

func ids(list []*store.Instance) []string {
	var out []string
	for _, in := range list {
		out = append(out, in.ID)
	}
	return out
}

func TestInstances_StateChangesAndActiveInstances(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	app := newApp(t, st, "shop")
	other := newApp(t, st, "other")
	clock := &manualClock{}
	st.SetClock(clock.Now)

	for i, id := range []string{"shop-v1-aaaaaa", "shop-v1-bbbbbb", "shop-v2-cccccc", "shop-v2-dddddd", "shop-v2-eeeeee"} {
		clock.Set(epoch.Add(time.Duration(i) * time.Second))
		if err := st.CreateInstance(ctx, store.Instance{ID: id, AppID: app.ID, Release: 1 + i/2, RolloutID: 7, State: store.InstanceServing}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateInstance(ctx, store.Instance{ID: "other-v1-ffffff", AppID: other.ID, Release: 1, RolloutID: 8}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateInstance(ctx, store.Instance{ID: "shop-v1-aaaaaa", AppID: app.ID, Release: 1}); err == nil {
		t.Error("a second instance with the same id was recorded")
	}

	active, err := st.ActiveInstances(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(active) != 5 {
		t.Fatalf("active = %v", ids(active))
	}
	for _, in := range active {
		if in.State != store.InstanceStarting || in.Addr != "" || in.AppID != app.ID || in.RolloutID != 7 {
			t.Errorf("a recorded instance starts as starting with no address, whatever it was given: %+v", in)
		}
	}

	clock.Set(epoch.Add(time.Minute))
	steps := []struct {
		id    string
		state store.InstanceState
		addr  string
	}{
		{"shop-v1-aaaaaa", store.InstanceServing, "127.0.0.1:4001"},
		{"shop-v1-bbbbbb", store.InstanceServing, "127.0.0.1:4002"},
		{"shop-v1-aaaaaa", store.InstanceDraining, ""},
		{"shop-v1-aaaaaa", store.InstanceStopped, ""},
		{"shop-v2-cccccc", store.InstanceServing, "127.0.0.1:4003"},
		{"shop-v2-dddddd", store.InstanceFailed, ""},
	}
	for _, s := range steps {
		if err := st.SetInstanceState(ctx, s.id, s.state, s.addr); err != nil {
			t.Fatal(err)
		}
	}
	active, err = st.ActiveInstances(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(active); !slices.Equal(got, []string{"shop-v1-bbbbbb", "shop-v2-cccccc", "shop-v2-eeeeee"}) {
		t.Errorf("active = %v, want starting, serving and draining ones, oldest first", got)
	}
	byID := map[string]*store.Instance{}
	all, err := st.Instances(ctx, app.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range all {
		byID[in.ID] = in
	}
	if a := byID["shop-v1-aaaaaa"]; a == nil || a.State != store.InstanceStopped || a.Addr != "127.0.0.1:4001" {
		t.Errorf("stopped instance = %+v: its address must survive state changes that give none", a)
	}
	if b := byID["shop-v1-bbbbbb"]; b == nil || b.Release != 1 || !b.CreatedAt.Equal(epoch.Add(time.Second)) || !b.UpdatedAt.Equal(epoch.Add(time.Minute)) {
		t.Errorf("instance = %+v", b)
	}
	if len(all) != 5 {
		t.Errorf("Instances lists %d of the app's 5", len(all))
	}
	for i, in := range all {
		isActive := in.State == store.InstanceStarting || in.State == store.InstanceServing || in.State == store.InstanceDraining
		if isActive && i >= 3 {
			t.Errorf("Instances lists active %s after inactive ones: %v", in.ID, ids(all))
		}
	}
	if few, _ := st.Instances(ctx, app.ID, 2); len(few) != 2 {
		t.Errorf("limit 2 gave %d", len(few))
	}
	if oth, _ := st.ActiveInstances(ctx, other.ID); len(oth) != 1 || oth[0].ID != "other-v1-ffffff" {
		t.Errorf("other app's active = %v", ids(oth))
	}
}

// The rolling plan retires the oldest old instance first and sheds the
// newest extra one: ActiveInstances must list instances in the order they
// were created, whatever the timestamps look like as text.
func TestActiveInstances_AreInCreationOrderWithinTheSameSecond(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	app := newApp(t, st, "shop")
	clock := &manualClock{}
	st.SetClock(clock.Now)
	created := []struct {
		id string
		at time.Duration
	}{
		{"shop-v1-first0", 100 * time.Millisecond},  // …:00.1Z
		{"shop-v1-second", 120 * time.Millisecond},  // …:00.12Z
		{"shop-v1-third0", 1000 * time.Millisecond}, // …:01Z
		{"shop-v1-fourth", 1500 * time.Millisecond}, // …:01.5Z
	}
	for _, c := range created {
		clock.Set(epoch.Add(c.at))
		if err := st.CreateInstance(ctx, store.Instance{ID: c.id, AppID: app.ID, Release: 1, RolloutID: 1}); err != nil {
			t.Fatal(err)
		}
	}
	active, err := st.ActiveInstances(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"shop-v1-first0", "shop-v1-second", "shop-v1-third0", "shop-v1-fourth"}
	if got := ids(active); !slices.Equal(got, want) {
		t.Errorf("ActiveInstances = %v, want creation order %v", got, want)
	}
}
