// Package history keeps the traffic history that the dashboard charts:
// every few seconds it reads the proxy's per-release counters and records
// what changed since the last reading (requests, 5xx, connection errors,
// the latency histogram) in the store, rolls 10-second samples up into
// minutes, and drops what is older than it keeps: an hour of 10-second
// samples, a day of minutes. Query reads it back as series for a window
// and a step.
package history

import (
	"context"
	"log/slog"
	"time"

	"github.com/nonstopdev/nonstop/internal/clock"
	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/store"
)

// The two resolutions kept, and for how long.
const (
	Fine       = 10 * time.Second // a sample every Fine...
	FineKeep   = time.Hour        // ...kept this long
	Coarse     = time.Minute      // Fine samples rolled up into these...
	CoarseKeep = 24 * time.Hour   // ...kept this long
)

// Proxy is what the sampler reads: the proxy's counters since it started.
type Proxy interface {
	Metrics(ctx context.Context, app string) ([]proxy.ReleaseMetrics, error)
}

// Store is where samples go.
type Store interface {
	Apps(ctx context.Context) ([]*store.App, error)
	AddSamples(ctx context.Context, samples []store.Sample) error
	Samples(ctx context.Context, appID int64, step time.Duration, since, until time.Time) ([]store.Sample, error)
	PruneSamples(ctx context.Context, step time.Duration, before time.Time) (int64, error)
}

var _ Store = (*store.Store)(nil)

// Config wires a Sampler.
type Config struct {
	Store  Store
	Proxy  Proxy
	Clock  clock.Clock  // nil: the real one
	Logger *slog.Logger // nil: discard
}

// Sampler records the proxy's traffic into the store. Run drives it.
type Sampler struct {
	cfg    Config
	last   map[key]proxy.ReleaseMetrics // the previous reading, by app and release
	rolled time.Time                    // the start of the newest minute rolled up
}

type key struct {
	app     string
	release int
}

// New returns a Sampler; nothing runs until Run.
func New(cfg Config) *Sampler {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sampler{cfg: cfg}
}

// Run samples every Fine, aligned to Fine boundaries, until ctx ends.
func (s *Sampler) Run(ctx context.Context) {
	t := s.cfg.Clock.NewTicker(time.Second)
	defer t.Stop()
	next := s.cfg.Clock.Now().Truncate(Fine).Add(Fine)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C():
			if now.Before(next) {
				continue
			}
			s.Tick(ctx, next)
			next = now.Truncate(Fine).Add(Fine)
		}
	}
}

// Tick takes one reading at the end of the Fine sample that started
// at-Fine, records it, and rolls up and prunes what is due. The first
// reading only sets the baseline: what came before it is not known to
// belong to the last Fine seconds.
func (s *Sampler) Tick(ctx context.Context, at time.Time) {
	at = at.Truncate(Fine)
	list, err := s.cfg.Proxy.Metrics(ctx, "")
	if err != nil {
		s.cfg.Logger.Warn("traffic history: read the proxy", "err", err)
		return
	}
	ids, err := s.appIDs(ctx)
	if err != nil {
		s.cfg.Logger.Warn("traffic history: read the apps", "err", err)
		return
	}
	first := s.last == nil
	now := make(map[key]proxy.ReleaseMetrics, len(list))
	var samples []store.Sample
	for _, m := range list {
		k := key{m.App, m.Release}
		now[k] = m
		id, ok := ids[m.App]
		if first || !ok || m.Release == 0 {
			continue
		}
		if x := delta(s.last[k], m); x.Requests > 0 || x.ConnErrors > 0 {
			x.AppID, x.Release, x.Step, x.At = id, m.Release, Fine, at.Add(-Fine)
			samples = append(samples, x)
		}
	}
	s.last = now
	if err := s.cfg.Store.AddSamples(ctx, samples); err != nil {
		s.cfg.Logger.Warn("traffic history: record samples", "err", err)
	}
	s.rollUp(ctx, at)
}

// delta is what m counted since prev; a proxy that restarted (a counter
// lower than before) counted all of m since.
func delta(prev, m proxy.ReleaseMetrics) store.Sample {
	if m.Requests < prev.Requests || m.ConnErrors < prev.ConnErrors {
		prev = proxy.ReleaseMetrics{}
	}
	x := store.Sample{
		Requests:   m.Requests - prev.Requests,
		Errors:     m.Status[5] - prev.Status[5],
		ConnErrors: m.ConnErrors - prev.ConnErrors,
		Latency:    make([]int64, len(m.Buckets)),
	}
	for i, n := range m.Buckets {
		x.Latency[i] = n
		if i < len(prev.Buckets) {
			x.Latency[i] -= prev.Buckets[i]
		}
	}
	return x
}

func (s *Sampler) appIDs(ctx context.Context) (map[string]int64, error) {
	apps, err := s.cfg.Store.Apps(ctx)
	if err != nil {
		return nil, err
	}
	ids := make(map[string]int64, len(apps))
	for _, a := range apps {
		ids[a.Name] = a.ID
	}
	return ids, nil
}

// rollUp merges the Fine samples of each minute that ended by at into a
// Coarse one (after a restart, every minute whose samples are still kept;
// the store keeps a minute rolled up before as it was), then drops what is
// older than each resolution keeps.
func (s *Sampler) rollUp(ctx context.Context, at time.Time) {
	end := at.Truncate(Coarse)
	from := s.rolled.Add(Coarse)
	if s.rolled.IsZero() { // every minute still kept: one rolled before a restart is kept as it was
		from = at.Add(-FineKeep).Truncate(Coarse)
	}
	if !from.Before(end) {
		return
	}
	fine, err := s.cfg.Store.Samples(ctx, 0, Fine, from, end)
	if err != nil {
		s.cfg.Logger.Warn("traffic history: read samples to roll up", "err", err)
		return
	}
	if err := s.cfg.Store.AddSamples(ctx, merge(fine, Coarse)); err != nil {
		s.cfg.Logger.Warn("traffic history: roll up", "err", err)
		return
	}
	s.rolled = end.Add(-Coarse)
	for step, keep := range map[time.Duration]time.Duration{Fine: FineKeep, Coarse: CoarseKeep} {
		if _, err := s.cfg.Store.PruneSamples(ctx, step, at.Add(-keep)); err != nil {
			s.cfg.Logger.Warn("traffic history: prune", "err", err)
		}
	}
}

// merge adds up samples into samples of step (a multiple of theirs), by
// app, release and the step they start in.
func merge(in []store.Sample, step time.Duration) []store.Sample {
	type slot struct {
		app     int64
		release int
		at      time.Time
	}
	index := map[slot]int{}
	var out []store.Sample
	for _, x := range in {
		k := slot{x.AppID, x.Release, x.At.Truncate(step)}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, store.Sample{AppID: x.AppID, Release: x.Release, Step: step, At: k.at})
		}
		add(&out[i], x)
	}
	return out
}

// add adds x's counts to into's.
func add(into *store.Sample, x store.Sample) {
	into.Requests += x.Requests
	into.Errors += x.Errors
	into.ConnErrors += x.ConnErrors
	for len(into.Latency) < len(x.Latency) {
		into.Latency = append(into.Latency, 0)
	}
	for i, n := range x.Latency {
		into.Latency[i] += n
	}
}
