package strategy

import (
	"time"

	"github.com/nonstopdev/nonstop/internal/spec"
)

// Rolling replaces the live release's members in batches of max_surge,
// keeping at least instances - max_unavailable serving; every serving
// member takes clients alike.
type Rolling struct{}

func (Rolling) Name() spec.Strategy { return spec.StrategyRolling }

// Traffic: a rolling rollout never splits.
func (Rolling) Traffic(*spec.Spec, int, int) (Traffic, bool) { return Traffic{}, false }

// Steps: none; the replacement in batches is the fleet's.
func (Rolling) Steps(*spec.Spec, int) []Step { return nil }

func (Rolling) KeepOld(*spec.Spec) time.Duration { return 0 }
