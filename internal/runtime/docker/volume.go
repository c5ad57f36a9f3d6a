package docker

import (
	"context"
	"fmt"
	"path"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

// volumeName is the Docker named volume that holds app's volume name.
func volumeName(app, name string) string { return NamePrefix + app + "-" + name }

// volumeMounts returns the mounts of spec's volumes, creating the named
// volumes that the Engine does not have yet.
func (r *Runtime) volumeMounts(ctx context.Context, spec runtime.InstanceSpec) ([]mount.Mount, error) {
	mounts := make([]mount.Mount, 0, len(spec.Volumes))
	for _, v := range spec.Volumes {
		if !validID(spec.App) || !validID(v.Name) {
			return nil, fmt.Errorf("volume %q of app %q: invalid name", v.Name, spec.App)
		}
		if !path.IsAbs(v.Path) {
			return nil, fmt.Errorf("volume %s: path %q is not absolute", v.Name, v.Path)
		}
		name, err := r.ensureVolume(ctx, spec.App, v.Name)
		if err != nil {
			return nil, fmt.Errorf("create volume %s: %w", v.Name, err)
		}
		mounts = append(mounts, mount.Mount{Type: mount.TypeVolume, Source: name, Target: v.Path})
	}
	return mounts, nil
}

// ensureVolume returns the name of app's volume name, which it creates,
// labelled, when the Engine does not have it. A volume of that name that
// another nonstop installation (scope) or app created is refused; one
// created by hand, without nonstop's labels, is used as it is.
func (r *Runtime) ensureVolume(ctx context.Context, app, name string) (string, error) {
	vname := volumeName(app, name)
	vol, err := r.cli.VolumeInspect(ctx, vname)
	if cerrdefs.IsNotFound(err) {
		vol, err = r.cli.VolumeCreate(ctx, volume.CreateOptions{
			Name: vname,
			Labels: map[string]string{
				LabelManaged: "true",
				LabelScope:   r.opts.Scope,
				LabelApp:     app,
				LabelVolume:  name,
			},
		})
		if cerrdefs.IsConflict(err) || cerrdefs.IsAlreadyExists(err) {
			// Created meanwhile by a Start of another instance of the app
			// (Podman refuses a second create; Docker returns the first).
			vol, err = r.cli.VolumeInspect(ctx, vname)
		}
		if err == nil {
			r.log.Info("volume created", "volume", vname, "app", app)
		}
	}
	if err != nil {
		return "", err
	}
	if l := vol.Labels; l[LabelManaged] == "true" && (l[LabelScope] != r.opts.Scope || l[LabelApp] != app || l[LabelVolume] != name) {
		return "", fmt.Errorf("volume %s belongs to app %q volume %q of another nonstop installation (scope %q)", vname, l[LabelApp], l[LabelVolume], l[LabelScope])
	}
	return vname, nil
}
