// Package strategy holds nonstop's rollout strategies: rolling, canary and
// blue-green. A strategy is pure: from a release's spec and a rollout's
// persisted step it says where the clients go. The rollout engine records
// each step before it acts, so the traffic of a rollout is always derived
// from what the store holds, after a restart as before it.
//
// Adding a strategy is one file here, registered in For, plus its keys in
// the spec.
package strategy

import (
	"time"

	"github.com/nonstopdev/nonstop/internal/spec"
)

// Traffic is where an app's clients go at one step of a rollout.
type Traffic struct {
	// Release takes Weight percent of the clients; the others go to the
	// other releases' members.
	Release, Weight int
	// Preview serves Release alone at its preview host (vN.APP.SUFFIX).
	Preview bool
}

// Strategy is one way of moving an app's clients to a new release.
type Strategy interface {
	// Name is the strategy's name in nonstop.yaml (deploy.strategy).
	Name() spec.Strategy
	// Traffic is the split of a rollout to release at step (1 is the
	// first); ok is false when the strategy does not split there (the
	// members of every release then share the clients alike).
	Traffic(sp *spec.Spec, release, step int) (t Traffic, ok bool)
	// Steps is the plan of a rollout of sp to n members: the gated steps
	// taken beside the live release, numbered from 1. Step len+1 is the
	// switch that follows them: every client on the new release, then
	// the old one retired, or kept warm for KeepOld. A rolling rollout
	// has no steps.
	Steps(sp *spec.Spec, n int) []Step
	// KeepOld is how long the old release stays warm, out of traffic,
	// after the switch (0: retired at once).
	KeepOld(sp *spec.Spec) time.Duration
}

// Step is one gated step of a progressive rollout.
type Step struct {
	// Members is how many members of the new release run beside the live
	// ones, ready, during the step.
	Members int
	// Gate is what ends the step.
	Gate Gate
	// Pause and Manual (GateAnalysis): how long the step lasts, judged
	// every analysis interval, or until promoted by hand.
	Pause  time.Duration
	Manual bool
	// AutoPromote (GatePromotion): the promotion comes by itself after
	// that long (0: only by hand).
	AutoPromote time.Duration
}

// Gate is what ends a step.
type Gate int

const (
	// GateAnalysis: the step's pause, with the analysis passing.
	GateAnalysis Gate = iota + 1
	// GatePromotion: a promotion, by hand or after AutoPromote.
	GatePromotion
)

// For returns the strategy named name; an unknown name is rolling, the
// default (the spec refuses unknown names before a rollout exists).
func For(name string) Strategy {
	switch spec.Strategy(name) {
	case spec.StrategyCanary:
		return Canary{}
	case spec.StrategyBlueGreen:
		return BlueGreen{}
	}
	return Rolling{}
}

// Progressive reports whether s runs the new release's own set beside the
// live one, with steps of its own (canary, blue-green).
func Progressive(s Strategy) bool {
	_, rolling := s.(Rolling)
	return !rolling
}

// Judged reports whether any of s's steps for sp ends by an analysis:
// such steps can be paused (the analysis goes on) and resumed; steps that
// wait for a promotion cannot.
func Judged(s Strategy, sp *spec.Spec) bool {
	for _, step := range s.Steps(sp, max(1, sp.Instances)) {
		if step.Gate == GateAnalysis {
			return true
		}
	}
	return false
}
