package rollout

import (
	"context"
	"strings"
	"testing"

	"github.com/nonstopdev/nonstop/internal/store"
)

func TestEngine_AFinalStateTheStoreRefusesIsListedAsAProblem(t *testing.T) {
	ctx := context.Background()
	e, st, app, _ := bareEngine(t)
	r, err := st.CreateRollout(ctx, store.Rollout{AppID: app.ID, App: "app", Kind: store.KindStop, Strategy: "stop"})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Problems(); len(got) != 0 {
		t.Fatalf("problems before anything failed: %v", got)
	}

	// The store holds the rollout pending; done straight from pending is
	// not a move the state machine allows.
	r.App = "app"
	e.opOf(r, nil).record(store.RolloutDone, "finished")

	got := e.Problems()
	if len(got) != 1 || got[0].Rollout != r.ID || got[0].App != "app" {
		t.Fatalf("problems = %v, want rollout #%d of app", got, r.ID)
	}
	for _, want := range []string{"could not record its state done", "left pending", "next start"} {
		if !strings.Contains(got[0].String(), want) {
			t.Errorf("problem %q does not say %q", got[0], want)
		}
	}

	// Recorded after all: no problem any more.
	e.opOf(r, nil).record(store.RolloutStarting, "")
	if got := e.Problems(); len(got) != 0 {
		t.Errorf("problems once the state was recorded: %v", got)
	}
}
