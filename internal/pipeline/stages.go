package pipeline

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nonstopdev/nonstop/internal/store"
)

// Stage is one stage of a run, as shown by `nonstop runs`.
type Stage struct {
	Name     string        `json:"name"`   // fetch, build, push, deploy, verify
	Status   string        `json:"status"` // pending, running, ok, failed, skipped
	Started  time.Time     `json:"started,omitempty"`
	Finished time.Time     `json:"finished,omitempty"`
	Duration time.Duration `json:"duration,omitempty"`
}

// RunView is a run with its stages.
type RunView struct {
	*store.Run
	Stages []Stage `json:"stages"`
}

// View reads a run's stages from the run and its rollout's history.
func (p *Pipeline) View(ctx context.Context, run *store.Run) (*RunView, error) {
	shown := *run
	shown.Repo = RedactURL(run.Repo)
	v := &RunView{Run: &shown}
	fetch := Stage{Name: "fetch", Started: run.StartedAt, Finished: run.FetchedAt}
	stages := map[string]*Stage{}
	order := []string{"build", "push", "deploy", "verify"}
	for _, n := range order {
		stages[n] = &Stage{Name: n}
	}
	var final *store.Rollout
	if run.RolloutID != 0 {
		events, err := p.Store.RolloutEvents(ctx, run.RolloutID, 0, 100000)
		if err != nil {
			return nil, err
		}
		for _, e := range events {
			switch {
			case e.Kind == "state" && hasState(e, "building"):
				stages["build"].Started = e.Time
			case e.Kind == "stage" && e.Message == "push":
				stages["build"].Finished, stages["push"].Started = e.Time, e.Time
			case e.Kind == "release":
				end(stages["build"], e.Time)
				end(stages["push"], e.Time)
			case e.Kind == "state" && hasState(e, "starting"):
				stages["deploy"].Started = e.Time
			case e.Kind == "state" && hasState(e, "verifying"):
				stages["deploy"].Finished, stages["verify"].Started = e.Time, e.Time
			case e.Kind == "state" && (hasState(e, "done") || hasState(e, "failed") || hasState(e, "rolling_back")):
				for _, n := range order {
					if s := stages[n]; !s.Started.IsZero() {
						end(s, e.Time)
					}
				}
			}
		}
		if final, err = p.Store.Rollout(ctx, run.RolloutID); err != nil {
			return nil, err
		}
	}
	v.Stages = append(v.Stages, status(fetch, run, run.FetchedAt.IsZero() && run.State.Terminal() && run.RolloutID == 0))
	last := 0
	for _, n := range order {
		s := status(*stages[n], run, false)
		if n == "push" && s.Status == "skipped" && final != nil && final.State.Succeeded() {
			s.Status = "skipped" // the process runtime, or no registry
		}
		v.Stages = append(v.Stages, s)
		if !s.Started.IsZero() {
			last = len(v.Stages) - 1
		}
	}
	// A failed rollout failed in the last stage it reached.
	if final != nil && final.State.Terminal() && !final.State.Succeeded() && last > 0 {
		v.Stages[last].Status = "failed"
	}
	return v, nil
}

func hasState(e store.Event, state string) bool {
	return e.Data["state"] == state || strings.HasSuffix(e.Message, ": "+state)
}

func end(s *Stage, t time.Time) {
	if !s.Started.IsZero() && s.Finished.IsZero() {
		s.Finished = t
	}
}

// status decides a stage's status from its times and how the run ended.
func status(s Stage, run *store.Run, failedHere bool) Stage {
	switch {
	case failedHere:
		s.Status = "failed"
	case s.Started.IsZero():
		s.Status = "pending"
		if run.State.Terminal() {
			s.Status = "skipped"
		}
	case s.Finished.IsZero():
		s.Status = "running"
		if run.State.Terminal() {
			s.Status = "failed"
		}
	default:
		s.Status = "ok"
		s.Duration = s.Finished.Sub(s.Started)
	}
	return s
}

// follow waits for a run's rollout to end and records how the run ended.
func (p *Pipeline) follow(ctx context.Context, run *store.Run, rolloutID int64) {
	ro, err := p.Engine.Wait(ctx, rolloutID)
	if err != nil {
		return // nonstop is stopping: resumed at the next start
	}
	state := store.RunSucceeded
	if ro.State != store.RolloutDone {
		state = store.RunFailed
	}
	p.finish(ctx, run.ID, state, ro.Reason)
	p.kick(run.AppID)
}

// Logs returns a run's log: its fetch, then its rollout's events.
func (p *Pipeline) Logs(ctx context.Context, run *store.Run) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "run #%d of %s (%s, started by %s)\n", run.Number, run.App, run.Trigger, run.StartedBy)
	if run.FetchLog != "" {
		b.WriteString("-- fetch\n" + run.FetchLog)
		if !strings.HasSuffix(run.FetchLog, "\n") {
			b.WriteString("\n")
		}
	}
	if run.RolloutID != 0 {
		b.WriteString(fmt.Sprintf("-- rollout #%d\n", run.RolloutID))
		events, err := p.Store.RolloutEvents(ctx, run.RolloutID, 0, 100000)
		if err != nil {
			return "", err
		}
		for _, e := range events {
			fmt.Fprintf(&b, "%s %s\n", e.Time.Format("15:04:05.000"), e.Message)
		}
	}
	if run.Reason != "" {
		b.WriteString("-- " + string(run.State) + ": " + run.Reason + "\n")
	}
	return b.String(), nil
}
