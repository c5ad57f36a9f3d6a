package store_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/store"
)

// openMemory returns a migrated in-memory store, closed when the test ends.
func openMemory(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatalf("open in-memory store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// openFile returns a migrated store in a file of a fresh folder, and the path.
func openFile(t *testing.T) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nonstop.db")
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open store %s: %v", path, err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

// defaultTeam bootstraps the admin and returns the default team's id.
func defaultTeam(t *testing.T, st *store.Store) int64 {
	t.Helper()
	ctx := context.Background()
	if _, err := st.Bootstrap(ctx, "hash-of-admin-token"); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	id, err := st.TeamID(ctx, store.DefaultTeam)
	if err != nil {
		t.Fatalf("default team: %v", err)
	}
	return id
}

// newApp creates an app in the default team.
func newApp(t *testing.T, st *store.Store, name string, domains ...string) *store.App {
	t.Helper()
	team := defaultTeam(t, st)
	app, err := st.CreateApp(context.Background(), name, team, domains)
	if err != nil {
		t.Fatalf("create app %s: %v", name, err)
	}
	return app
}

// manualClock is a store clock that reads what the test last set.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// epoch is a whole second, so that epoch + 100ms and epoch + 120ms print
// with fractions of different lengths.
var epoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
