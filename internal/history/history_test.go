package history

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/store"
)

// rig is a real proxy in front of two backends (v1 answers 200, v2 answers
// 500 to /fail), a store in a file, and a sampler over both.
type rig struct {
	t      *testing.T
	st     *store.Store
	px     *proxy.Proxy
	front  *httptest.Server
	app    *store.App
	s      *Sampler
	client *http.Client
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "nonstop.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Bootstrap(ctx, "admin-hash"); err != nil {
		t.Fatal(err)
	}
	team, err := st.TeamID(ctx, store.DefaultTeam)
	if err != nil {
		t.Fatal(err)
	}
	app, err := st.CreateApp(ctx, "shop", team, nil)
	if err != nil {
		t.Fatal(err)
	}
	backend := func() string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/fail" {
				http.Error(w, "broken", http.StatusInternalServerError)
				return
			}
			fmt.Fprintln(w, "ok")
		}))
		t.Cleanup(srv.Close)
		return srv.Listener.Addr().String()
	}
	px := proxy.New(proxy.Options{})
	t.Cleanup(func() { px.Close() })
	if err := px.SetRoute(ctx, proxy.Route{App: "shop", Hosts: []string{"shop.localhost"}, Split: &proxy.Split{Release: 2, Weight: 50}, // a canary: X-Nonstop-Release picks the side
		Backends: []proxy.Backend{{ID: "a", Addr: backend(), Release: 1}, {ID: "b", Addr: backend(), Release: 2}}}); err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(px)
	t.Cleanup(front.Close)
	return &rig{t: t, st: st, px: px, front: front, app: app, s: New(Config{Store: st, Proxy: px}), client: front.Client()}
}

// send makes n requests to path through the proxy, to release rel.
func (r *rig) send(n int, path string, rel int) {
	r.t.Helper()
	for range n {
		req, _ := http.NewRequest("GET", r.front.URL+path, nil)
		req.Host = "shop.localhost"
		req.Header.Set("X-Nonstop-Release", fmt.Sprint(rel))
		resp, err := r.client.Do(req)
		if err != nil {
			r.t.Fatal(err)
		}
		resp.Body.Close()
	}
}

func TestSampler_RecordsWhatEachReleaseServedInEachTenSeconds(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	r.send(7, "/", 1) // before the first reading: not known to be of any sample
	r.s.Tick(ctx, t0)
	r.send(50, "/", 1)
	r.send(5, "/fail", 2)
	r.s.Tick(ctx, t0.Add(10*time.Second))
	r.s.Tick(ctx, t0.Add(20*time.Second)) // nothing served: no row
	r.send(20, "/", 2)
	r.s.Tick(ctx, t0.Add(30*time.Second))

	got, err := r.st.Samples(ctx, r.app.ID, Fine, t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		at               time.Duration
		release          int
		requests, fivexx int64
	}
	var rows []row
	for _, x := range got {
		rows = append(rows, row{x.At.Sub(t0), x.Release, x.Requests, x.Errors})
	}
	want := []row{{0, 1, 50, 0}, {0, 2, 5, 5}, {20 * time.Second, 2, 20, 0}}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("samples %v, want %v", rows, want)
	}
}

func TestSampler_RollsTenSecondSamplesIntoMinutesAndDropsWhatItDoesNotKeep(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	r.s.Tick(ctx, t0)
	for i := 1; i <= 7; i++ { // 10:00:00..10:01:10, 10 requests each
		r.send(10, "/", 1)
		r.s.Tick(ctx, t0.Add(time.Duration(i)*Fine))
	}
	minutes, _ := r.st.Samples(ctx, r.app.ID, Coarse, t0, t0.Add(time.Hour))
	if len(minutes) != 1 || minutes[0].Requests != 60 || !minutes[0].At.Equal(t0) {
		t.Fatalf("minutes after 10:01:10: %+v, want 10:00 with 60 requests (10:01 is not over)", minutes)
	}
	// Much later: the 10s samples are past their hour, the minute is kept.
	r.s.Tick(ctx, t0.Add(2*time.Hour))
	if fine, _ := r.st.Samples(ctx, r.app.ID, Fine, t0, t0.Add(3*time.Hour)); len(fine) != 0 {
		t.Errorf("10s samples two hours on: %d, want none", len(fine))
	}
	minutes, _ = r.st.Samples(ctx, r.app.ID, Coarse, t0, t0.Add(3*time.Hour))
	if len(minutes) != 2 || minutes[1].Requests != 10 {
		t.Errorf("minutes two hours on: %+v, want 10:00 (60) and 10:01 (10)", minutes)
	}
	r.s.Tick(ctx, t0.Add(25*time.Hour))
	if minutes, _ = r.st.Samples(ctx, r.app.ID, Coarse, t0, t0.Add(26*time.Hour)); len(minutes) != 0 {
		t.Errorf("minutes a day on: %+v, want none", minutes)
	}
}

func TestQuery_GivesRatesErrorRatesAndLatenciesByStep(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	r.s.Tick(ctx, t0)
	r.send(90, "/", 1)
	r.send(10, "/fail", 2)
	r.s.Tick(ctx, t0.Add(Fine))
	r.send(30, "/", 1)
	r.s.Tick(ctx, t0.Add(2*Fine))

	s, err := Query(ctx, r.st, r.app.ID, t0, t0.Add(40*time.Second), 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if s.Step != 20*time.Second || len(s.Times) != 2 {
		t.Fatalf("step %s, %d points; want 20s and 2", s.Step, len(s.Times))
	}
	if s.Total.Requests[0] != 130 || s.Total.RPS[0] != 6.5 || s.Total.Requests[1] != 0 {
		t.Errorf("total requests %v rps %v, want 130 (6.5/s) then 0", s.Total.Requests, s.Total.RPS)
	}
	if e := s.Total.ErrorRate[0]; math.Abs(e-10.0/130) > 1e-9 || !math.IsNaN(s.Total.ErrorRate[1]) {
		t.Errorf("error rate %v, want 10/130 then none", s.Total.ErrorRate)
	}
	if v2 := s.Releases[2]; v2 == nil || v2.ErrorRate[0] != 1 || v2.Requests[0] != 10 {
		t.Errorf("v2: %+v, want 10 requests, all failed", v2)
	}
	if p := s.Total.P99[0]; !(p > 0 && p < 100) || s.Total.P50[0] > p {
		t.Errorf("p50 %v p99 %v ms: want 0 < p50 <= p99 < 100 on loopback", s.Total.P50, s.Total.P99)
	}

	// A day's window reads minutes, and caps the points.
	day, err := Query(ctx, r.st, r.app.ID, t0.Add(-24*time.Hour), t0.Add(time.Hour), Fine)
	if err != nil {
		t.Fatal(err)
	}
	if day.Step < Coarse || len(day.Times) > MaxPoints {
		t.Errorf("a day at 10s: step %s, %d points; want minutes or more, at most %d", day.Step, len(day.Times), MaxPoints)
	}
}

func TestQuantileMs_InterpolatesInsideTheBucket(t *testing.T) {
	counts := make([]int64, len(proxy.LatencyBuckets)+1)
	counts[1] = 100 // all between 0.5 and 1 ms
	if got := quantileMs(counts, 0.5); math.Abs(got-0.75) > 1e-9 {
		t.Errorf("p50 of 100 requests in (0.5ms, 1ms]: %v, want 0.75", got)
	}
	counts[len(counts)-1] = 100 // and as many over the last bound
	if got := quantileMs(counts, 0.99); got != 30000 {
		t.Errorf("p99 with half over 30s: %v, want the last bound, 30000", got)
	}
	if !math.IsNaN(quantileMs(make([]int64, 3), 0.5)) {
		t.Error("no request: want NaN")
	}
}
