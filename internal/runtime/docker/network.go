package docker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
)

// networkName is the bridge network of app's containers in installation
// scope: NamePrefix, the scope's first 6 characters, the app. The scope
// is in the name (not only in a label, as for volumes) because a network
// holds no data worth sharing and two installations on one Engine may
// each have an app of the same name.
func networkName(scope, app string) string {
	if len(scope) > 6 {
		scope = scope[:6]
	}
	if scope == "" {
		return NamePrefix + app
	}
	return NamePrefix + scope + "-" + app
}

// appNetwork returns the network app's containers join: Options.Network
// when set (every app shares it), else the app's own bridge network,
// created, labelled, when the Engine does not have it. Containers on
// different bridge networks cannot reach each other, so one app's
// instances cannot reach another's.
func (r *Runtime) appNetwork(ctx context.Context, app string) (string, error) {
	if r.opts.Network != "" {
		return r.opts.Network, nil
	}
	if !validID(app) {
		return "", fmt.Errorf("network of app %q: invalid name", app)
	}
	name := networkName(r.opts.Scope, app)
	// Instances of an app start side by side, and the Engine's duplicate
	// check is not atomic: one create at a time (the key cannot be an
	// instance ID, which has no '/').
	unlock, err := r.keys.Lock(ctx, "network/"+app)
	if err != nil {
		return "", err
	}
	defer unlock()
	nw, err := r.cli.NetworkInspect(ctx, name, network.InspectOptions{})
	if cerrdefs.IsNotFound(err) {
		_, err = r.cli.NetworkCreate(ctx, name, network.CreateOptions{
			Driver: "bridge",
			Labels: map[string]string{LabelManaged: "true", LabelScope: r.opts.Scope, LabelApp: app},
		})
		if err != nil && (cerrdefs.IsConflict(err) || cerrdefs.IsAlreadyExists(err)) {
			err = nil // created meanwhile by a Start of another instance
		}
		if err != nil {
			return "", networkCreateError(name, err)
		}
		r.log.Info("network created", "network", name, "app", app)
		nw, err = r.cli.NetworkInspect(ctx, name, network.InspectOptions{})
	}
	if err != nil {
		return "", fmt.Errorf("network %s: %w", name, err)
	}
	if l := nw.Labels; l[LabelManaged] != "true" || l[LabelScope] != r.opts.Scope || l[LabelApp] != app {
		return "", fmt.Errorf("network %s exists and is not app %s's (labels %s=%q %s=%q): remove it or rename the app", name, app, LabelScope, l[LabelScope], LabelApp, l[LabelApp])
	}
	return name, nil
}

// networkCreateError names the fix when the Engine has run out of
// subnets: Docker's default pools hold about 30 bridge networks.
func networkCreateError(name string, err error) error {
	if strings.Contains(err.Error(), "address pool") {
		return fmt.Errorf("create network %s: %w (the Engine has no subnet left: give dockerd more with \"default-address-pools\" in /etc/docker/daemon.json, e.g. [{\"base\":\"10.201.0.0/16\",\"size\":24}], or remove unused networks)", name, err)
	}
	return fmt.Errorf("create network %s: %w", name, err)
}

// RemoveApp removes what the runtime keeps for app beyond its instances:
// its network (the app's containers must be removed first). Volumes stay:
// they hold data. Removing an app that has none is not an error.
func (r *Runtime) RemoveApp(ctx context.Context, app string) error {
	if r.opts.Network != "" || !validID(app) {
		return nil
	}
	return r.removeNetworks(ctx, filters.Arg("label", LabelApp+"="+app))
}

// RemoveNetworks removes every network of the Runtime's scope (an
// installation being uninstalled; its containers must be gone).
func (r *Runtime) RemoveNetworks(ctx context.Context) error {
	return r.removeNetworks(ctx)
}

func (r *Runtime) removeNetworks(ctx context.Context, args ...filters.KeyValuePair) error {
	args = append(args, filters.Arg("label", LabelManaged+"=true"), r.scopeFilter())
	nws, err := r.cli.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(args...)})
	if err != nil {
		return fmt.Errorf("list networks: %w", err)
	}
	var errs []error
	for _, nw := range nws {
		if err := r.cli.NetworkRemove(ctx, nw.ID); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", nw.Name, err))
			continue
		}
		r.log.Info("network removed", "network", nw.Name)
	}
	return errors.Join(errs...)
}
