package rollout

import (
	"context"
	"testing"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/fleet/local"
	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/runtime/process"
	"github.com/nonstopdev/nonstop/internal/store"
)

// bareEngine is an engine on an in-memory store with one app, "app", on
// the local fleet, for the tests inside the package; data is its folder.
func bareEngine(t *testing.T) (e *Engine, st *store.Store, app *store.App, data string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rt, err := process.New(process.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	px := proxy.New(proxy.Options{})
	t.Cleanup(func() { px.Close() })
	data = t.TempDir()
	e = New(Config{Store: st, Fleets: []fleet.Fleet{local.New(local.Config{Store: st, Runtime: rt, Proxy: px})}, Proxy: px, DataDir: data})
	t.Cleanup(e.Close)
	st.Bootstrap(ctx, "hash")
	team, _ := st.TeamID(ctx, store.DefaultTeam)
	if app, err = st.CreateApp(ctx, "app", team, nil); err != nil {
		t.Fatal(err)
	}
	return e, st, app, data
}
