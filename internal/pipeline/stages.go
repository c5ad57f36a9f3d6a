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

// The stages of a run, in their order. The pipeline records fetch, build
// and push as it runs them, and deploy and verify as it sees the run's
// rollout move (follow).
const (
	stageFetch  = "fetch"
	stageBuild  = "build"
	stagePush   = "push"
	stageDeploy = "deploy"
	stageVerify = "verify"
)

var stageNames = []string{stageFetch, stageBuild, stagePush, stageDeploy, stageVerify}

// atNow, as the time of a stage's start or end, is when the store records it.
var atNow time.Time

// View reads a run's stages as the pipeline recorded them.
func (p *Pipeline) View(ctx context.Context, run *store.Run) (*RunView, error) {
	shown := *run
	shown.Repo = RedactURL(run.Repo)
	v := &RunView{Run: &shown}
	recorded, err := p.Store.RunStages(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	byName := map[string]*store.RunStage{}
	for _, s := range recorded {
		byName[s.Name] = s
	}
	for _, name := range stageNames {
		v.Stages = append(v.Stages, stageOf(name, byName[name], run))
	}
	return v, nil
}

// stageOf shows a stage from its record (nil: never reached) and the run.
func stageOf(name string, rec *store.RunStage, run *store.Run) Stage {
	s := Stage{Name: name}
	switch {
	case rec == nil:
		s.Status = "pending"
		if run.State.Terminal() {
			s.Status = "skipped"
		}
	case rec.Status == store.StageRunning:
		s.Started, s.Status = rec.StartedAt, "running"
		if run.State.Terminal() {
			s.Status = "failed" // the run ended in it (a restart cut it short)
		}
	default:
		s.Started, s.Finished, s.Status = rec.StartedAt, rec.FinishedAt, string(rec.Status)
		s.Duration = s.Finished.Sub(s.Started)
	}
	return s
}

// startStage records that a stage of run started (at, or now); run nil:
// the deploy has no run to record it in.
func (p *Pipeline) startStage(run *store.Run, name string, at time.Time) {
	if run != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.logFailed("record stage "+name+" of run "+fmt.Sprint(run.ID), p.Store.StartStage(ctx, run.ID, name, at))
	}
}

// endStage records how a stage of run ended (at, or now), unless it has.
func (p *Pipeline) endStage(run *store.Run, name string, status store.StageStatus, at time.Time) {
	if run != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.logFailed("record stage "+name+" of run "+fmt.Sprint(run.ID), p.Store.FinishStage(ctx, run.ID, name, status, at))
	}
}

// follow records a run's deploy and verify stages as its rollout moves,
// woken by each write of the rollout, and how the run ended once the
// rollout is over; then the app's next queued run may start.
func (p *Pipeline) follow(ctx context.Context, run *store.Run, rolloutID int64) {
	written, stop := p.Store.Watch(func(c store.Change) bool { return c.Rollout == rolloutID })
	defer stop()
	var seen store.RolloutState
	for {
		ro, err := p.Store.Rollout(ctx, rolloutID)
		if err != nil {
			if ctx.Err() == nil {
				p.Logger.Error("follow the rollout of run "+fmt.Sprint(run.ID), "rollout", rolloutID, "err", err)
			}
			return // resumed at the next start
		}
		if ro.State != seen {
			seen = ro.State
			p.rolloutStages(ctx, run, ro)
		}
		if ro.State.Terminal() {
			state := store.RunSucceeded
			if ro.State != store.RolloutDone {
				state = store.RunFailed
			}
			p.finish(ctx, run.ID, state, ro.Reason)
			p.kick(run.AppID)
			return
		}
		select {
		case <-ctx.Done():
			return // resumed at the next start
		case <-written:
		}
	}
}

// rolloutStages records the stages of run that its rollout's state says,
// at the rollout's last write. A state seen late (two writes woke follow
// once) still ends the stages before it.
func (p *Pipeline) rolloutStages(ctx context.Context, run *store.Run, ro *store.Rollout) {
	at := ro.UpdatedAt
	switch ro.State {
	case store.RolloutStarting, store.RolloutShifting, store.RolloutPaused:
		p.startStage(run, stageDeploy, at)
	case store.RolloutVerifying:
		p.endStage(run, stageDeploy, store.StageOK, at)
		p.startStage(run, stageVerify, at)
	case store.RolloutDone:
		p.endStage(run, stageDeploy, store.StageOK, at)
		p.endStage(run, stageVerify, store.StageOK, at)
	case store.RolloutRollingBack, store.RolloutRolledBack, store.RolloutFailed:
		// It failed in the stage it was in (a build the engine failed at
		// a restart, a deploy or a verify that rolls back).
		stages, err := p.Store.RunStages(ctx, run.ID)
		if err != nil {
			p.Logger.Error("read the stages of run "+fmt.Sprint(run.ID), "err", err)
			return
		}
		for _, s := range stages {
			if s.Status == store.StageRunning {
				p.endStage(run, s.Name, store.StageFailed, at)
			}
		}
	}
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
