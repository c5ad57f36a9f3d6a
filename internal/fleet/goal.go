package fleet

import (
	"time"

	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

// Goal is where a rollout converges: N members of Release, alone. A nil
// Release with N 0 means no member at all (a stop, or undoing a first
// deploy).
type Goal struct {
	App     *store.App
	Release *store.Release
	N       int
	// Fallback supplies drain and stop timeouts when Release is nil.
	Fallback *spec.Spec
}

// Version is the goal's release number (0: none).
func (g *Goal) Version() int {
	if g.Release == nil {
		return 0
	}
	return g.Release.Version
}

// Spec is the goal's release's spec, else the fallback, else defaults.
func (g *Goal) Spec() *spec.Spec {
	if g.Release != nil {
		return &g.Release.Spec
	}
	if g.Fallback != nil {
		return g.Fallback
	}
	def := &spec.Spec{}
	def.Deploy.DrainTimeout = 30 * time.Second
	def.Deploy.StopTimeout = 10 * time.Second
	def.Deploy.MaxSurge = 1
	return def
}

// Desired is how many members an app runs: the count it was scaled to,
// else its release's spec's.
func Desired(app *store.App, rel *store.Release) int {
	if app.Instances > 0 {
		return app.Instances
	}
	if rel == nil {
		return 0
	}
	return rel.Spec.Instances
}
