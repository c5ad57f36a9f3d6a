package api

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/nonstopdev/nonstop/internal/history"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/wire"
)

// markKinds are the events marked on an app's traffic charts: rollout
// states (start, end), steps (weights, promotions), analysis verdicts,
// bakes.
var markKinds = []string{"state", "step", "analysis", "bake"}

// maxMarks bounds the marks of one answer.
const maxMarks = 500

// traffic answers an app's traffic history: ?since=DURATION (default 1h,
// at most the day kept) and ?step=DURATION (default: a point every 10s
// within the hour, every minute beyond).
func (a *API) traffic(w http.ResponseWriter, r *http.Request, u *store.User) error {
	app, err := a.app(r, u)
	if err != nil {
		return err
	}
	since, step := time.Hour, time.Duration(0)
	if v := r.URL.Query().Get("since"); v != "" {
		if since, err = time.ParseDuration(v); err != nil || since <= 0 || since > history.CoarseKeep {
			return fmt.Errorf("since %q: want a duration up to %s, e.g. 1h: %w", v, history.CoarseKeep, errBadRequest)
		}
	}
	if v := r.URL.Query().Get("step"); v != "" {
		if step, err = time.ParseDuration(v); err != nil || step <= 0 {
			return fmt.Errorf("step %q: want a duration, e.g. 10s: %w", v, errBadRequest)
		}
	}
	// Up to the newest step the sampler has written (it writes each at its
	// end, within a second): the step in progress would read as a drop.
	until := time.Now().Add(-2 * time.Second).Truncate(history.Fine)
	s, err := history.Query(r.Context(), a.Store, app.ID, until.Add(-since), until, step)
	if err != nil {
		return err
	}
	events, err := a.Store.AppEvents(r.Context(), app.ID, markKinds, s.Since, time.Now(), maxMarks) // marks up to now
	if err != nil {
		return err
	}
	out := wire.TrafficHistory{App: app.Name, Since: s.Since, Until: s.Until, Step: s.Step.String(),
		Total: wirePoints(s.Total), Releases: []wire.ReleaseTraffic{}, Marks: []wire.RolloutMark{}}
	for _, t := range s.Times {
		out.Times = append(out.Times, t.Unix())
	}
	for _, rel := range slices.Backward(slices.Sorted(maps.Keys(s.Releases))) {
		out.Releases = append(out.Releases, wire.ReleaseTraffic{Release: rel, TrafficPoints: wirePoints(*s.Releases[rel])})
	}
	for _, e := range events {
		out.Marks = append(out.Marks, wire.RolloutMark{Time: e.Time, Rollout: e.RolloutID, Kind: e.Kind, Text: e.Message, Data: e.Data})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func wirePoints(p history.Points) wire.TrafficPoints {
	nums := func(fs []float64) []wire.Number {
		out := make([]wire.Number, len(fs))
		for i, f := range fs {
			out[i] = wire.Number(f)
		}
		return out
	}
	return wire.TrafficPoints{Requests: p.Requests, RPS: nums(p.RPS), ErrorRate: nums(p.ErrorRate), P50: nums(p.P50), P99: nums(p.P99)}
}
