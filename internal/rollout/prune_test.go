package rollout

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

func TestPrune_KeepsRecentAndNeededBuildsOnly(t *testing.T) {
	ctx := context.Background()
	e, st, app, data := bareEngine(t)
	var sp spec.Spec
	sp.ApplyDefaults(false)
	for n := 1; n <= 15; n++ {
		src := filepath.Join(data, "apps", "app", "builds", fmt.Sprint(n), "src")
		if err := os.MkdirAll(src, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateRelease(ctx, app.ID, n, src, sp, nil, "test"); err != nil {
			t.Fatal(err)
		}
	}
	// A build in progress, newer than every release.
	os.MkdirAll(filepath.Join(data, "apps", "app", "builds", "16", "src"), 0o755)
	st.MakeLive(ctx, app.ID, 15)
	// v2 still has an active instance (say, a rollback in progress).
	st.CreateInstance(ctx, store.Instance{ID: "app-v2-x", AppID: app.ID, Release: 2, RolloutID: 1})

	e.prune(ctx, app.ID)

	for n := 1; n <= 16; n++ {
		_, err := os.Stat(filepath.Join(data, "apps", "app", "builds", fmt.Sprint(n)))
		kept := err == nil
		want := n == 2 || n >= 6
		if kept != want {
			t.Errorf("build %d kept=%v, want %v", n, kept, want)
		}
	}
	if _, err := e.Rollback(ctx, mustApp(t, st, "app"), 3, "test"); err == nil || !strings.Contains(err.Error(), "v3 is no longer kept") {
		t.Errorf("rollback to a pruned release: %v", err)
	}
}

func mustApp(t *testing.T, st *store.Store, name string) *store.App {
	t.Helper()
	a, err := st.App(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
