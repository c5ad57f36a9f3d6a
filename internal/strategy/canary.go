package strategy

import (
	"math"

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

// Members is how many of n members a canary weight needs (at least one).
func Members(n, weight int) int {
	return max(1, int(math.Ceil(float64(n)*float64(weight)/100)))
}
