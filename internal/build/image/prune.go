package image

import (
	"context"
	"errors"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
)

// Prune removes the app's images from the Engine (those labelled
// io.nonstop.app=APP, and any in the app's repository) except the ones keep
// names: image IDs, pinned refs (REPO@sha256:...), digests or REPO:TAG, as
// the kept releases record them. Images that a container (running or not)
// was created from are left alone. The registry is not touched: it keeps
// every pushed build for rollbacks.
func (b *Builder) Prune(ctx context.Context, app string, keep []string) error {
	images, err := b.appImages(ctx, app)
	if err != nil {
		return fmt.Errorf("prune images of %s: %w", app, err)
	}
	containers, err := b.Client.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return fmt.Errorf("prune images of %s: list containers: %w", app, err)
	}
	inUse := map[string]bool{}
	for _, c := range containers {
		inUse[c.ImageID] = true
	}
	kept := newKeepSet(keep)
	var errs []error
	for _, img := range images {
		if inUse[img.ID] || kept.has(img) {
			continue
		}
		if err := b.remove(ctx, img); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("prune images of %s: %w", app, err)
	}
	return nil
}

// appImages lists the app's images by label and by repository.
func (b *Builder) appImages(ctx context.Context, app string) ([]image.Summary, error) {
	queries := []filters.Args{filters.NewArgs(filters.Arg("label", LabelApp+"="+app))}
	for _, repo := range []string{b.Registry.Repo(app), Registry{}.Repo(app)} {
		queries = append(queries, filters.NewArgs(filters.Arg("reference", repo)))
	}
	seen := map[string]bool{}
	var out []image.Summary
	for _, f := range queries {
		list, err := b.Client.ImageList(ctx, image.ListOptions{Filters: f})
		if err != nil {
			return nil, err
		}
		for _, img := range list {
			if !seen[img.ID] {
				seen[img.ID] = true
				out = append(out, img)
			}
		}
	}
	return out, nil
}

// remove deletes img through each of its names, so that an image tagged
// more than once goes without forcing; in-use and already-gone are fine.
func (b *Builder) remove(ctx context.Context, img image.Summary) error {
	var names []string
	for _, n := range append(append([]string{}, img.RepoTags...), img.RepoDigests...) {
		if !strings.HasPrefix(n, "<none>") {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		names = []string{img.ID}
	}
	for _, n := range names {
		_, err := b.Client.ImageRemove(ctx, n, image.RemoveOptions{PruneChildren: true})
		switch {
		case err == nil, cerrdefs.IsNotFound(err):
		case cerrdefs.IsConflict(err):
			return nil // in use, e.g. by a container created meanwhile
		default:
			return fmt.Errorf("remove %s: %w", n, err)
		}
	}
	return nil
}

// keepSet holds the normalized names of the images to keep.
type keepSet struct {
	names map[string]bool
	ids   []string // image IDs, full or short, without "sha256:"
}

func newKeepSet(keep []string) keepSet {
	s := keepSet{names: map[string]bool{}}
	for _, k := range keep {
		k = strings.TrimSpace(k)
		switch {
		case k == "":
		case imageIDRE.MatchString(k):
			s.ids = append(s.ids, strings.TrimPrefix(k, "sha256:"))
			s.names[k] = true // a manifest digest looks the same
		default:
			s.names[k] = true
			if named, err := reference.ParseNormalizedNamed(k); err == nil {
				s.names[named.String()] = true
				if d, ok := named.(reference.Digested); ok {
					s.names[d.Digest().String()] = true
				}
			}
		}
	}
	return s
}

func (s keepSet) has(img image.Summary) bool {
	for _, id := range s.ids {
		if strings.HasPrefix(strings.TrimPrefix(img.ID, "sha256:"), id) {
			return true
		}
	}
	for _, n := range append(append([]string{}, img.RepoTags...), img.RepoDigests...) {
		if s.names[n] {
			return true
		}
		named, err := reference.ParseNormalizedNamed(n)
		if err != nil {
			continue
		}
		if s.names[named.String()] {
			return true
		}
		if d, ok := named.(reference.Digested); ok && s.names[d.Digest().String()] {
			return true
		}
	}
	return false
}
