// Package strategy holds nonstop's rollout strategies: rolling, canary and
// blue-green. A strategy is pure: from a release's spec and a rollout's
// persisted step it says where the clients go. The rollout engine records
// each step before it acts, so the traffic of a rollout is always derived
// from what the store holds, after a restart as before it.
//
// Adding a strategy is one file here, registered in For, plus its keys in
// the spec.
package strategy

import "github.com/nonstopdev/nonstop/internal/spec"

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
}

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
