package history

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/store"
)

// busyProxy counts steady traffic for apps × 2 releases: every reading,
// each release has served more requests, spread over five latency buckets,
// with a few 5xx.
type busyProxy struct {
	mu   sync.Mutex
	apps []string
	n    int64
}

func (p *busyProxy) Metrics(context.Context, string) ([]proxy.ReleaseMetrics, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	var out []proxy.ReleaseMetrics
	for i, app := range p.apps {
		for rel := 1; rel <= 2; rel++ {
			k := p.n * int64(100+i*7+rel)
			m := proxy.ReleaseMetrics{App: app, Release: rel, Requests: 5 * k, Buckets: make([]int64, len(proxy.LatencyBuckets)+1)}
			m.Status[2], m.Status[5] = 5*k-p.n, p.n
			for b := 2; b < 7; b++ {
				m.Buckets[b] = k
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// MaxDayBytes is the stated bound: what a day of history for 20 apps,
// each with two releases serving all day, adds to the store.
const MaxDayBytes = 8 << 20

// The history stays bounded: a simulated day of samples every 10s for 20
// busy apps leaves an hour of 10s samples and a day of minutes, under
// MaxDayBytes on disk.
func TestSampler_ADayOfTwentyBusyAppsStaysUnderItsBound(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nonstop.db")
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Bootstrap(ctx, "admin-hash"); err != nil {
		t.Fatal(err)
	}
	team, _ := st.TeamID(ctx, store.DefaultTeam)
	px := &busyProxy{}
	for i := range 20 {
		name := fmt.Sprintf("app%02d", i)
		if _, err := st.CreateApp(ctx, name, team, nil); err != nil {
			t.Fatal(err)
		}
		px.apps = append(px.apps, name)
	}
	empty := dbBytes(t, st, path)
	s := New(Config{Store: st, Proxy: px})
	t0 := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	start := time.Now()
	// A reading a minute for the first 23 hours (each minute's sample
	// ends up as one minute row, as six would), then every 10s: the same
	// rows as a day of 10s readings, in a fifth of the time.
	ticks := 0
	for at := t0; !at.After(t0.Add(24 * time.Hour)); ticks++ {
		s.Tick(ctx, at)
		if at.Before(t0.Add(23 * time.Hour)) {
			at = at.Add(Coarse)
		} else {
			at = at.Add(Fine)
		}
	}
	fine, _ := st.Samples(ctx, 0, Fine, t0, t0.Add(25*time.Hour))
	coarse, _ := st.Samples(ctx, 0, Coarse, t0, t0.Add(25*time.Hour))
	grown := dbBytes(t, st, path) - empty
	t.Logf("a day of 20 apps × 2 releases (%d ticks in %s): %d 10s samples, %d minute samples, %.2f MiB (%.0f bytes a sample); bound %d MiB",
		ticks, time.Since(start).Round(time.Second), len(fine), len(coarse), float64(grown)/(1<<20), float64(grown)/float64(len(fine)+len(coarse)), MaxDayBytes>>20)
	if want := 20 * 2 * int(FineKeep/Fine); len(fine) != want {
		t.Errorf("10s samples kept: %d, want an hour's, %d", len(fine), want)
	}
	if want := 20 * 2 * int(CoarseKeep/Coarse); len(coarse) < want-40 || len(coarse) > want+40 {
		t.Errorf("minute samples kept: %d, want a day's, about %d", len(coarse), want)
	}
	if grown > MaxDayBytes {
		t.Errorf("the history takes %d bytes, over its bound of %d", grown, MaxDayBytes)
	}
}

// dbBytes is what the store's data takes.
func dbBytes(t *testing.T, st *store.Store, _ string) int64 {
	t.Helper()
	n, err := st.UsedBytes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}
