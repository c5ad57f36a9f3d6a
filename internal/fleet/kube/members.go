package kube

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

// What users see of an app on Kubernetes: its pods, their output, and
// where its clients reach it.

// Members are the app's pods, shown as instances: ready pods serve,
// terminating ones drain, the others start.
func (f *Fleet) Members(ctx context.Context, app *store.App, _ bool) ([]fleet.Member, error) {
	sp, err := f.specOf(ctx, app)
	if sp == nil || err != nil {
		return []fleet.Member{}, err
	}
	pods, err := f.Cluster.Pods(ctx, app.Name, sp)
	if err != nil {
		return nil, err
	}
	backends := fleet.ProxyStatuses(ctx, f.Proxy, app.Name)
	out := make([]fleet.Member, 0, len(pods))
	for _, p := range pods {
		state := store.InstanceStarting
		switch {
		case p.Stopping:
			state = store.InstanceDraining
		case p.Ready:
			state = store.InstanceServing
		}
		m := fleet.Member{
			Instance: &store.Instance{ID: p.Name, Release: p.Release, Addr: p.Addr, State: state, CreatedAt: p.StartedAt},
			Runtime:  &runtime.Status{State: runtime.StateRunning, Restarts: p.Restarts},
			Node:     p.Node, Problem: p.Problem,
		}
		if b, ok := backends[p.Name]; ok {
			m.Proxy = &b
		}
		out = append(out, m)
	}
	return out, nil
}

// Logs streams the output of one of an app's pods.
func (f *Fleet) Logs(ctx context.Context, app *store.App, pod string, tail int, follow bool) (io.ReadCloser, error) {
	sp, err := f.specOf(ctx, app)
	if err != nil {
		return nil, err
	}
	if sp == nil {
		return nil, fmt.Errorf("app %s does not run on kubernetes: %w", app.Name, fleet.ErrInvalid)
	}
	return f.Cluster.PodLogs(ctx, app.Name, sp, pod, tail, follow)
}

// URLs are where an app is reached when nonstop's proxy does not carry
// its traffic (without PodNetwork): its Service, its Gateway's host.
func (f *Fleet) URLs(ctx context.Context, app *store.App) ([]string, bool, error) {
	if f.PodNetwork || f.Cluster == nil {
		return nil, false, nil
	}
	sp, err := f.specOf(ctx, app)
	if sp == nil || err != nil {
		return nil, false, err
	}
	urls, err := f.Cluster.URLs(ctx, app.Name, sp)
	return urls, true, err
}

// specOf is the spec of the app's newest release when that runs on
// Kubernetes (nil otherwise): where its objects are.
func (f *Fleet) specOf(ctx context.Context, app *store.App) (*spec.Spec, error) {
	if f.Cluster == nil {
		return nil, nil // no app runs on Kubernetes here
	}
	newest, err := f.Store.NewestRelease(ctx, app.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil || !f.Runs(&newest.Spec) {
		return nil, err
	}
	return &newest.Spec, nil
}
