// Package fleet says what the rollout engine needs of the place where an
// app's instances run: bring a release's set to N ready members, move the
// traffic between sets, retire a set, and observe how a set does. Package
// fleet/local runs instances on this machine (processes and containers,
// through a runtime.Runtime, behind nonstop's proxy); package fleet/kube
// runs them as pods of Deployments on a Kubernetes cluster. The engine
// drives a Fleet and knows neither.
//
// A fleet acts for a rollout (an Op): what it does is recorded in that
// rollout's history, each step before it is taken, so that a rollout a
// crash interrupted is resumed by taking its step again. Every action is
// idempotent.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

// Fleet runs the instances of the apps whose specs it Runs.
type Fleet interface {
	// Runs reports whether this fleet runs apps of spec sp (its runtime).
	Runs(sp *spec.Spec) bool
	// Check says why this fleet cannot roll sp out for app (nil: it
	// can), before anything is recorded. live is the spec of the app's
	// live release, nil when it has none.
	Check(app *store.App, live, sp *spec.Spec) error
	// Measures reports whether nonstop's proxy carries, and so measures,
	// the traffic of apps of sp: all of it (split false), or also the
	// split between two releases' sets (split true).
	Measures(sp *spec.Spec, split bool) bool

	// Converge brings g's release to g.N ready members, alone, replacing
	// the others the rolling way (health-gated, within the spec's surge
	// and unavailability). With g.N 0, nothing runs.
	Converge(ctx context.Context, op Op, g *Goal) error
	// Place brings g's release's own set, beside the live one, to members
	// ready members, and sends it weight percent of the clients: the
	// traffic of the rollout's recorded step. It says where the set is
	// reached on its own ("its preview service APP-v2"); "" when that is
	// the proxy's preview host.
	Place(ctx context.Context, op Op, g *Goal, members, weight int) (reach string, err error)
	// Prepare readies the app for a progressive rollout toward g before
	// its first step (the live release moved back into the stable set, if
	// a switch kept it apart).
	Prepare(ctx context.Context, op Op, g *Goal) error
	// Switch sends every client to g's release, its set at full size (the
	// rollout has recorded the switch as its step), then replaces the old
	// set, or keeps it warm and out of traffic when keepOld is set.
	Switch(ctx context.Context, op Op, g *Goal, keepOld bool) error
	// Complete makes sure g holds before its release is made live (every
	// member serving; release sets tidied away unless keepOld) and says
	// what runs: "3 instance(s)".
	Complete(ctx context.Context, op Op, g *Goal, keepOld bool) (string, error)
	// RollBack returns the app to from (from.N members of its release, or
	// nothing when from.Release is nil) after failed, the release of the
	// rollout that failed (nil: none was made). A progressive set of the
	// failed release loses its clients at once, then is removed.
	RollBack(ctx context.Context, op Op, from, failed *Goal, progressive bool) error
	// Stop runs no member of the app any more (g: its live release, N 0)
	// and says what is left: "stopped; the maintenance page is served".
	Stop(ctx context.Context, op Op, g *Goal) (string, error)
	// Replace starts a new member of g's release beside the member id,
	// health-gated, then retires id (a member the proxy found sick).
	Replace(ctx context.Context, op Op, g *Goal, id string) error
	// Health is how the set of g's release does now, for a canary's
	// judgement.
	Health(ctx context.Context, g *Goal) Health

	// Drifted reports whether what runs of a running app differs from its
	// live release with n members (after a restart, or behind nonstop's
	// back): the engine then rolls the live release out again.
	Drifted(ctx context.Context, app *store.App, live *store.Release, n int) (bool, error)
	// Recover takes back, after nonstop restarted, the members that
	// outlived it and stops those no app counts.
	Recover(ctx context.Context, apps []*store.App) error
	// Delete removes every member and object of a deleted app.
	Delete(ctx context.Context, app *store.App) error
	// Prune removes what the dropped releases of app left (kept: the
	// images in keepImages and the recent instances' logs).
	Prune(ctx context.Context, app *store.App, dropped []int, keepImages []string)

	// Backends are the members of app the proxy routes to: those of the
	// stable set and of the releases in sets; own lists the releases
	// among them that run in a set of their own.
	Backends(ctx context.Context, app *store.App, sets []int) (backends []proxy.Backend, health proxy.Health, own map[int]bool, err error)
	// Follow calls moved(app) each time the members of an app move
	// outside any rollout (pods becoming ready elsewhere), until ctx ends.
	// It returns once it follows.
	Follow(ctx context.Context, moved func(app string)) error

	// Members are the app's members as users see them: all of them, or
	// only the active ones.
	Members(ctx context.Context, app *store.App, activeOnly bool) ([]Member, error)
	// Logs streams the output of one of the app's members.
	Logs(ctx context.Context, app *store.App, member string, tail int, follow bool) (io.ReadCloser, error)
	// URLs are where the app is reached when nonstop's proxy does not
	// carry its traffic; ok is false when it does.
	URLs(ctx context.Context, app *store.App) (urls []string, ok bool, err error)
}

// ReleaseRunner is a Fleet that runs a release's release phase (its
// spec's release: command) once, before its instances take traffic.
type ReleaseRunner interface {
	RunRelease(ctx context.Context, op Op, g *Goal) error
}

// Op is the rollout a fleet acts for.
type Op interface {
	// Rollout is the rollout (read only: the engine records its states).
	Rollout() *store.Rollout
	// Event records a line of the rollout's history.
	Event(kind, msg string, data map[string]any)
	// Step records the rollout's next step before the fleet takes it.
	Step(ctx context.Context) error
	// Route gives the proxy the app's route as the store has it now.
	Route(ctx context.Context) error
	// Between is called before each batch of a rolling rollout: the
	// engine judges what the last batch served, and an error stops the
	// rollout. started says a batch was started since the last call.
	Between(ctx context.Context, started bool) error
	// Stopping reports whether ctx ended because nonstop itself is
	// stopping (the rollout resumes at the next start), not because the
	// rollout was aborted.
	Stopping(ctx context.Context) bool
}

// Cut is the error of work ctx cut short: ErrStopped when nonstop itself
// is stopping, else the abort's.
func Cut(ctx context.Context, op Op) error {
	if op.Stopping(ctx) {
		return ErrStopped
	}
	return fmt.Errorf("aborted: %w", context.Cause(ctx))
}

// Health is what a fleet sees of a release's set.
type Health struct {
	Sick    string // why the set is not healthy ("": it is)
	Unknown string // why its health could not be read ("": it could)
	Seen    string // what was seen of a healthy set: "3/3 pods ready"
}

// Member is one instance of an app as users see it: what the store, the
// runtime and the proxy know of it (on Kubernetes, a pod).
type Member struct {
	*store.Instance
	Runtime *runtime.Status
	Proxy   *proxy.BackendStatus
	// On Kubernetes, a member is a pod: its node, and why it is not
	// ready (Kubernetes' readiness, not the proxy's).
	Node, Problem string
}

// ErrUnsupported is a request this fleet cannot carry out.
var ErrUnsupported = errors.New("not supported")

// ErrInvalid is a request that cannot be carried out as asked.
var ErrInvalid = errors.New("invalid request")

// ErrStopped marks work cut short because nonstop itself is stopping: the
// rollout stays where it is, to be resumed at the next start.
var ErrStopped = errors.New("nonstop is stopping")

// ProxyStatuses are what the proxy knows of app's backends, by id (none
// when it cannot say).
func ProxyStatuses(ctx context.Context, px proxy.Controller, app string) map[string]proxy.BackendStatus {
	out := map[string]proxy.BackendStatus{}
	if sts, err := px.Status(ctx, app); err == nil {
		for _, b := range sts {
			out[b.ID] = b
		}
	}
	return out
}
