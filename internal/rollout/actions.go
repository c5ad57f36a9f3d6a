package rollout

import (
	"os"

	"github.com/nonstopdev/nonstop/internal/store"
)

// What a user may do to an app, by name: the dashboard's buttons and the
// CLI's commands.
const (
	ActDeploy   = "deploy"
	ActEnv      = "env"
	ActScale    = "scale"
	ActStop     = "stop"
	ActStart    = "start"
	ActRollback = "rollback"
	ActPromote  = "promote"
	ActPause    = "pause"
	ActResume   = "resume"
	ActAbort    = "abort"
)

// Actions lists what the engine would take for app now, given its newest
// rollout (nil: none yet), whether that rollout is progressive (canary,
// blue-green) and its steps judged by an analysis, and whether any
// release can be rolled back to: so that a page offers only what applies.
// Who may act is the caller's to decide (a viewer may do none).
//
// While a rollout runs, only its own steps apply: promote (a progressive
// one at a step), pause or resume (a judged one, shifting or paused), and
// abort (until it is rolling back). Otherwise: deploy, env and scale
// always; stop when a live release runs; start when stopped; rollback
// when running with a release to go back to.
func Actions(app *store.App, last *store.Rollout, progressive, judged, canRollBack bool) []string {
	if last != nil && !last.State.Terminal() {
		var out []string
		atStep := last.State == store.RolloutShifting || last.State == store.RolloutPaused
		if progressive && atStep {
			out = append(out, ActPromote)
		}
		if progressive && judged && last.State == store.RolloutShifting {
			out = append(out, ActPause)
		}
		if progressive && judged && last.State == store.RolloutPaused {
			out = append(out, ActResume)
		}
		if last.State != store.RolloutRollingBack {
			out = append(out, ActAbort)
		}
		return out
	}
	out := []string{ActDeploy, ActEnv, ActScale}
	switch {
	case app.LiveRelease > 0 && app.State == store.AppStopped:
		out = append(out, ActStart)
	case app.LiveRelease > 0:
		out = append(out, ActStop)
		if canRollBack {
			out = append(out, ActRollback)
		}
	}
	return out
}

// CanRollBackTo reports whether rel is a release app can be rolled back
// to: one that served before (retired), not the live one, whose files or
// image are still kept.
func CanRollBackTo(app *store.App, rel *store.Release) bool {
	if rel.Version == app.LiveRelease || rel.Status != store.ReleaseRetired {
		return false
	}
	if rel.Image != "" {
		return true
	}
	_, err := os.Stat(rel.Dir)
	return err == nil
}
