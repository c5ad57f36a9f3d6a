package api

import (
	"encoding/json"

	"github.com/nonstopdev/nonstop/internal/pipeline"
	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/wire"
)

// The conversions to the API's wire types from what the handlers gather:
// the store's rows, the runtime's, the proxy's and the pipeline's reports,
// and the views that join them (appView, AppStatus, InstanceState). What a
// handler answers is always a wire type. A nil row converts to nil.

func wireAppView(v appView) *wire.App {
	return &wire.App{
		Name:        v.Name,
		Domains:     v.Domains,
		State:       wire.AppState(v.State),
		LiveRelease: v.LiveRelease,
		Instances:   v.Instances,
		Hold:        wireHold(v.Hold),
		CreatedAt:   v.CreatedAt,
		Source:      wire.Source{Repo: v.Source.Repo, Branch: v.Source.Branch, Poll: v.Source.Poll},
		URLs:        v.URLs,
	}
}

func wireAppStatus(st AppStatus) wire.AppStatus {
	return wire.AppStatus{
		App:       *wireAppView(st.appView),
		Live:      wireRelease(st.Live),
		Rollout:   wireRollout(st.Rollout),
		Waiting:   st.Waiting,
		Instances: each(st.Instances, wireInstanceState),
		Problems:  st.Problems,
		Actions:   st.Actions,
	}
}

func wireHold(h *store.Hold) *wire.Hold {
	if h == nil {
		return nil
	}
	return &wire.Hold{MaxWait: h.MaxWait, MaxQueue: h.MaxQueue, Since: h.Since}
}

func wireRollout(r *store.Rollout) *wire.Rollout {
	if r == nil {
		return nil
	}
	return &wire.Rollout{
		ID:          r.ID,
		App:         r.App,
		Kind:        wire.RolloutKind(r.Kind),
		FromRelease: r.FromRelease,
		ToRelease:   r.ToRelease,
		Instances:   r.Instances,
		Strategy:    r.Strategy,
		State:       wire.RolloutState(r.State),
		Step:        r.Step,
		Reason:      r.Reason,
		CreatedBy:   r.CreatedBy,
		CreatedAt:   r.CreatedAt,
		UpdatedAt:   r.UpdatedAt,
		FinishedAt:  r.FinishedAt,
	}
}

func wireRelease(r *store.Release) *wire.Release {
	if r == nil {
		return nil
	}
	// A spec holds strings, numbers, durations and lists and maps of them:
	// it always marshals.
	sp, _ := json.Marshal(r.Spec)
	return &wire.Release{
		Version:     r.Version,
		Build:       r.Build,
		Image:       r.Image,
		Spec:        sp,
		Description: r.Description,
		Status:      wire.ReleaseStatus(r.Status),
		CreatedAt:   r.CreatedAt,
	}
}

func wireEvent(e store.Event) wire.Event {
	return wire.Event{ID: e.ID, RolloutID: e.RolloutID, Time: e.Time, Kind: e.Kind, Message: e.Message, Data: e.Data}
}

func wireInstanceState(s InstanceState) wire.Instance {
	return wire.Instance{
		ID:        s.ID,
		Release:   s.Release,
		RolloutID: s.RolloutID,
		Addr:      s.Addr,
		State:     wire.InstanceState(s.State),
		CreatedAt: s.CreatedAt,
		UpdatedAt: s.UpdatedAt,
		Runtime:   wireRuntimeStatus(s.Runtime),
		Proxy:     wireBackendStatus(s.Proxy),
		Node:      s.Node,
		Problem:   s.Problem,
	}
}

func wireRuntimeStatus(s *runtime.Status) *wire.RuntimeStatus {
	if s == nil {
		return nil
	}
	return &wire.RuntimeStatus{
		State:       string(s.State),
		PID:         s.PID,
		Restarts:    s.Restarts,
		ExitCode:    s.ExitCode,
		LastExit:    s.LastExit,
		CPUPercent:  s.CPUPercent,
		MemoryBytes: s.MemoryBytes,
	}
}

func wireBackendStatus(b *proxy.BackendStatus) *wire.BackendStatus {
	if b == nil {
		return nil
	}
	return &wire.BackendStatus{
		ID:       b.ID,
		Addr:     b.Addr,
		Release:  b.Release,
		Healthy:  b.Healthy,
		InFlight: b.InFlight,
		Requests: b.Requests,
		Failures: b.Failures,
		LastErr:  b.LastErr,
	}
}

func wireRun(r *store.Run) *wire.Run {
	if r == nil {
		return nil
	}
	return &wire.Run{
		App:        r.App,
		Number:     r.Number,
		Trigger:    r.Trigger,
		Commit:     r.Commit,
		Ref:        r.Ref,
		Repo:       r.Repo,
		StartedBy:  r.StartedBy,
		State:      wire.RunState(r.State),
		RolloutID:  r.RolloutID,
		Reason:     r.Reason,
		CreatedAt:  r.CreatedAt,
		StartedAt:  r.StartedAt,
		FetchedAt:  r.FetchedAt,
		FinishedAt: r.FinishedAt,
	}
}

func wireRunView(v *pipeline.RunView) *wire.RunView {
	if v == nil {
		return nil
	}
	out := &wire.RunView{Stages: each(v.Stages, wireStage)}
	if v.Run != nil {
		out.Run = *wireRun(v.Run)
	}
	return out
}

func wireStage(s pipeline.Stage) wire.Stage {
	return wire.Stage{Name: s.Name, Status: s.Status, Started: s.Started, Finished: s.Finished, Duration: s.Duration}
}

// each converts every element of in with f; nil stays nil (null in JSON),
// empty stays empty ([]).
func each[S, W any](in []S, f func(S) W) []W {
	if in == nil {
		return nil
	}
	out := make([]W, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}
