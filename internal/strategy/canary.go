package strategy

import (
	"math"
	"time"

	"github.com/nonstopdev/nonstop/internal/spec"
)

// Canary starts the new release beside the live one and moves clients to
// it in steps (deploy.canary.steps: a weight and a pause each), each judged
// by the analysis before the next; after the last, every client goes to
// it and the rest of the live release is replaced.
type Canary struct{}

func (Canary) Name() spec.Strategy { return spec.StrategyCanary }

// Traffic: step k of the steps has its weight; past the last step, every
// client is on the new release.
func (Canary) Traffic(sp *spec.Spec, release, step int) (Traffic, bool) {
	c := sp.Deploy.Canary
	switch {
	case step < 1:
		return Traffic{}, false
	case c == nil || step > len(c.Steps):
		return Traffic{Release: release, Weight: 100}, true
	}
	return Traffic{Release: release, Weight: c.Steps[step-1].Weight}, true
}

// Steps: one per deploy.canary.steps entry, its members enough for its
// weight, each ended by its pause with the analysis passing.
func (Canary) Steps(sp *spec.Spec, n int) []Step {
	c := sp.Deploy.Canary
	if c == nil {
		return nil
	}
	steps := make([]Step, 0, len(c.Steps))
	for _, s := range c.Steps {
		steps = append(steps, Step{Members: Members(n, s.Weight), Gate: GateAnalysis, Pause: s.Pause, Manual: s.Manual})
	}
	return steps
}

func (Canary) KeepOld(*spec.Spec) time.Duration { return 0 }

// Members is how many of n members a canary weight needs (at least one).
func Members(n, weight int) int {
	return max(1, int(math.Ceil(float64(n)*float64(weight)/100)))
}
