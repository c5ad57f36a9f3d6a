package local

import "github.com/nonstopdev/nonstop/internal/store"

// Action is one thing the engine does to move an app toward its target.
type Action int

const (
	ActDone   Action = iota // the target release runs the wanted number of instances, alone
	ActStart                // start Count new instances of the target release
	ActRetire               // drain and stop Instance
)

// Step is the next action of a rollout, decided from what is running.
type Step struct {
	Action   Action
	Count    int
	Instance *store.Instance
}

// planRolling decides the next step of a rolling rollout toward n serving
// instances of release target, from the app's active instances. It is pure:
// the engine observes, asks, acts, and asks again, so a rollout resumed after
// a crash simply asks again.
//
// Rules, in order: finish what a crash interrupted (draining instances are
// retired, starting ones never took traffic and are discarded); shed target
// instances above n; retire an old instance while at least n-maxUnavailable
// serve without it; start as many target instances as the surge allows.
func planRolling(target, n, maxSurge, maxUnavailable int, active []*store.Instance) Step {
	var fresh, old []*store.Instance
	for _, in := range active {
		switch {
		case in.State == store.InstanceDraining || in.State == store.InstanceStarting:
			return Step{Action: ActRetire, Instance: in}
		case in.Release == target:
			fresh = append(fresh, in)
		default:
			old = append(old, in)
		}
	}
	if len(fresh) > n {
		return Step{Action: ActRetire, Instance: fresh[len(fresh)-1]}
	}
	if len(fresh) == n && len(old) == 0 {
		return Step{Action: ActDone}
	}
	if len(old) > 0 && len(fresh)+len(old)-1 >= n-maxUnavailable {
		return Step{Action: ActRetire, Instance: old[0]}
	}
	room := n + maxSurge - len(fresh) - len(old)
	if k := min(n-len(fresh), room); k > 0 {
		return Step{Action: ActStart, Count: k}
	}
	// maxSurge and maxUnavailable both 0 (refused by spec validation): make
	// progress anyway by retiring first.
	return Step{Action: ActRetire, Instance: old[0]}
}
