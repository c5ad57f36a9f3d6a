package rollout_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/rollout"
	"github.com/nonstopdev/nonstop/internal/store"
)

// routeHold returns the hold of the app's route in the proxy, or nil.
func (r *rig) routeHold(app string) *proxy.Hold {
	r.t.Helper()
	rt, ok := r.route(app)
	if !ok {
		r.t.Fatalf("the proxy has no route for %s", app)
	}
	return rt.Hold
}

func TestEngine_HoldSurvivesARolloutAndARestartUntilUnhold(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("hello")
	r.deployLive("hello", release{Version: 1})

	h, err := r.eng.Hold(ctx, r.app("hello"), 5*time.Second, 10)
	if err != nil {
		t.Fatal(err)
	}
	if h.MaxWait != 5*time.Second || h.MaxQueue != 10 || h.Since.IsZero() {
		t.Errorf("hold = %+v", h)
	}
	want := proxy.Hold{MaxWait: 5 * time.Second, MaxQueue: 10}
	if got := r.routeHold("hello"); got == nil || *got != want {
		t.Fatalf("route hold after Hold: %+v, want %+v", got, want)
	}
	if app := r.app("hello"); app.Hold == nil || app.Hold.MaxWait != 5*time.Second {
		t.Errorf("recorded hold %+v", app.Hold)
	}

	// A rollout pushes routes as it goes: every one keeps the hold.
	r.deployLive("hello", release{Version: 2})
	if got := r.backendReleases("hello"); !slices.Equal(got, []int{2}) {
		t.Errorf("after deploying v2 during the hold: backends %v", got)
	}
	if got := r.routeHold("hello"); got == nil || *got != want {
		t.Fatalf("route hold after a rollout during the hold: %+v, want %+v", got, want)
	}

	// A restarted control plane pushes every route again, hold included.
	r.restart()
	if err := r.eng.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if got := r.routeHold("hello"); got == nil || *got != want {
		t.Fatalf("route hold after a restart: %+v, want %+v", got, want)
	}

	// Holding again with the same bounds is a no-op that keeps the start.
	again, err := r.eng.Hold(ctx, r.app("hello"), 5*time.Second, 10)
	if err != nil || !again.Since.Equal(h.Since) {
		t.Errorf("hold again: %+v %v, want the first hold (since %s)", again, err, h.Since)
	}
	if _, err := r.eng.Hold(ctx, r.app("hello"), time.Minute, 10); !errors.Is(err, store.ErrConflict) {
		t.Errorf("hold with other bounds while held: err %v, want ErrConflict", err)
	}

	was, err := r.eng.Unhold(ctx, r.app("hello"))
	if err != nil || !was {
		t.Fatalf("unhold: was held %v, err %v", was, err)
	}
	if got := r.routeHold("hello"); got != nil {
		t.Errorf("route still held after Unhold: %+v", got)
	}
	if app := r.app("hello"); app.Hold != nil {
		t.Errorf("hold still recorded after Unhold: %+v", app.Hold)
	}
	r.mustServe("hello", 2)
	if was, err := r.eng.Unhold(ctx, r.app("hello")); err != nil || was {
		t.Errorf("second unhold: was held %v, err %v; want false, nil", was, err)
	}
}

func TestEngine_HoldDefaultsAndRefusesBadBounds(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.createApp("hello")
	r.deployLive("hello", release{Version: 1})

	bad := []struct {
		wait  time.Duration
		queue int
	}{
		{-time.Second, 0}, {rollout.MaxHoldWait + time.Second, 0}, {time.Second, -1}, {time.Second, rollout.MaxHoldQueue + 1},
	}
	for _, b := range bad {
		if _, err := r.eng.Hold(ctx, r.app("hello"), b.wait, b.queue); !errors.Is(err, rollout.ErrInvalid) {
			t.Errorf("hold %s/%d: err %v, want ErrInvalid", b.wait, b.queue, err)
		}
	}
	if app := r.app("hello"); app.Hold != nil {
		t.Fatalf("a refused hold was recorded: %+v", app.Hold)
	}
	if got := r.routeHold("hello"); got != nil {
		t.Fatalf("a refused hold reached the proxy: %+v", got)
	}

	h, err := r.eng.Hold(ctx, r.app("hello"), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if h.MaxWait != proxy.DefaultHold.MaxWait || h.MaxQueue != proxy.DefaultHold.MaxQueue {
		t.Errorf("hold with zero bounds = %+v, want the proxy's defaults %+v", h, proxy.DefaultHold)
	}
	if got := r.routeHold("hello"); got == nil || got.MaxWait != proxy.DefaultHold.MaxWait {
		t.Errorf("route hold %+v", got)
	}
}
