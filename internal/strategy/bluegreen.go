package strategy

import (
	"time"

	"github.com/nonstopdev/nonstop/internal/spec"
)

// BlueGreen starts the whole new set beside the live one, reachable only at
// its preview host (step 1), and switches every client to it in one swap
// when promoted (step 2); the old set may stay warm for keep_old_for.
type BlueGreen struct{}

func (BlueGreen) Name() spec.Strategy { return spec.StrategyBlueGreen }

// Traffic: before the switch no client reaches the new set but through its
// preview; from the switch on, every client does.
func (BlueGreen) Traffic(_ *spec.Spec, release, step int) (Traffic, bool) {
	switch {
	case step < 1:
		return Traffic{}, false
	case step == 1:
		return Traffic{Release: release, Weight: 0, Preview: true}, true
	}
	return Traffic{Release: release, Weight: 100}, true
}

// Steps: one, the whole new set at its preview, ended by its promotion.
func (BlueGreen) Steps(sp *spec.Spec, n int) []Step {
	var auto time.Duration
	if bg := sp.Deploy.BlueGreen; bg != nil {
		auto = bg.AutoPromoteAfter
	}
	return []Step{{Members: n, Gate: GatePromotion, AutoPromote: auto}}
}

// KeepOld is deploy.bluegreen.keep_old_for.
func (BlueGreen) KeepOld(sp *spec.Spec) time.Duration {
	if bg := sp.Deploy.BlueGreen; bg != nil {
		return bg.KeepOldFor
	}
	return 0
}
