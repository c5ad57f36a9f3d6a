// Package kube is the fleet of a Kubernetes cluster: Kubernetes starts and
// replaces an app's pods, nonstop keeps the strategy and the safety checks.
//
// An app has a stable Deployment and Service (named after the app: the
// Service is created by the first deploy and never re-created). A rolling
// deploy updates the stable Deployment and watches it; a canary or
// blue-green deploy starts the release's own Deployment and Service
// (APP-vN) beside it, moves the traffic to it (an HTTPRoute's weights,
// nonstop's proxy on the pod network, or the Service's selector for a
// blue-green without either), then folds it into the stable Deployment and
// moves the traffic back. Every action is an idempotent apply, so a
// rollout interrupted by a restart is resumed by doing its step again.
package kube

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/nonstopdev/nonstop/internal/clock"
	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/runtime/kubernetes"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

// Config wires a Fleet.
type Config struct {
	Store *store.Store
	// Cluster is where apps run (nil: this server has no cluster, and
	// refuses apps of the kubernetes runtime, saying so).
	Cluster *kubernetes.Cluster
	// PodNetwork says nonstop's proxy reaches the cluster's pod IPs (it
	// runs in the cluster or on its network): it then carries the apps'
	// traffic to their ready endpoints and splits canaries itself.
	PodNetwork bool
	// Proxy is asked what it sees of the pods it routes to.
	Proxy  proxy.Controller
	Logger *slog.Logger
	Clock  clock.Clock
}

// Fleet runs apps on a Kubernetes cluster.
type Fleet struct {
	Config
	mu        sync.Mutex
	endpoints *kubernetes.Endpoints // the pods' endpoints, with PodNetwork
}

var _ fleet.Fleet = (*Fleet)(nil)

// New returns the fleet of cfg.Cluster.
func New(cfg Config) *Fleet {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	return &Fleet{Config: cfg}
}

// Runs reports whether sp runs on Kubernetes.
func (f *Fleet) Runs(sp *spec.Spec) bool { return sp != nil && sp.Runtime == spec.RuntimeKubernetes }

// maxName is the longest app name on Kubernetes: its objects' names add
// suffixes (APP-v123, APP-build-12-abcdef) and some must stay DNS labels
// of 63 characters at most.
const maxName = 40

// Check refuses what this server cannot roll out on its cluster: no
// cluster, a canary split with no one to split it, an app name too long
// for Kubernetes, a move to another namespace (its objects would be left
// behind, serving, where no rollout looks: such a move is a new app).
func (f *Fleet) Check(app *store.App, live, sp *spec.Spec) error {
	if f.Cluster == nil {
		return fmt.Errorf("runtime kubernetes: %w: this server has no cluster (start it with --kubeconfig, or set KUBECONFIG)", fleet.ErrUnsupported)
	}
	if sp.Deploy.Strategy == spec.StrategyCanary && sp.Kubernetes.Gateway == nil && !f.PodNetwork {
		return fmt.Errorf("deploy.strategy canary on kubernetes needs kubernetes.gateway (an HTTPRoute's weights split the traffic) or nonstop's proxy on the pod network (--kube-pod-network): %w", fleet.ErrInvalid)
	}
	if len(app.Name) > maxName {
		return fmt.Errorf("app name %q: %d characters; on Kubernetes an app's name has at most %d (its objects add suffixes such as -v12): %w",
			app.Name, len(app.Name), maxName, fleet.ErrInvalid)
	}
	if live != nil && f.Runs(live) && kubernetes.Namespace(app.Name, live) != kubernetes.Namespace(app.Name, sp) {
		return fmt.Errorf("kubernetes.namespace %s → %s: an app cannot change namespace by a deploy: create a new app for it: %w",
			kubernetes.Namespace(app.Name, live), kubernetes.Namespace(app.Name, sp), fleet.ErrInvalid)
	}
	return nil
}

// Measures: nonstop's proxy carries the traffic with PodNetwork; a split
// between sets is then the proxy's unless a Gateway's HTTPRoute makes it.
func (f *Fleet) Measures(sp *spec.Spec, split bool) bool {
	return f.PodNetwork && (!split || sp.Kubernetes.Gateway == nil)
}

// workload is the goal's release as a pod set: the stable Deployment
// (set 0) or the release's own (set = the release).
func workload(g *fleet.Goal, set, replicas int) kubernetes.Workload {
	return kubernetes.Workload{App: g.App.Name, Release: g.Version(), Set: set, Image: g.Release.Image,
		Env: g.Release.Env, Replicas: replicas, Spec: *g.Spec()}
}
