package rollout

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
)

// KeepReleases is how many recent releases keep their folder, so that
// `nonstop rollback --to vN` can return to them.
const KeepReleases = 10

// prune removes build folders no kept release uses, and has the fleets
// remove what the releases no rollback returns to left (images, old
// instances' logs, env Secrets). It never touches what the live release
// or an active instance needs.
func (e *Engine) prune(ctx context.Context, appID int64) {
	app, err := e.Store.AppByID(ctx, appID)
	if err != nil {
		return
	}
	rels, err := e.Store.Releases(ctx, appID)
	if err != nil {
		return
	}
	active, err := e.Store.ActiveInstances(ctx, appID)
	if err != nil {
		return
	}
	needed := map[int]bool{app.LiveRelease: true}
	for _, in := range active {
		needed[in.Release] = true
	}
	keep := map[string]bool{}
	var images []string
	var dropped []int // releases no rollback returns to any more
	for i, r := range rels {
		if i < KeepReleases || needed[r.Version] {
			keep[filepath.Dir(r.Dir)] = true
			if r.Image != "" {
				images = append(images, r.Image)
			}
		} else {
			dropped = append(dropped, r.Version)
		}
	}
	for _, f := range e.Fleets {
		f.Prune(ctx, app, dropped, images)
	}
	newest := 0
	for _, r := range rels {
		newest = max(newest, r.Build)
	}
	buildsDir := filepath.Join(e.DataDir, "apps", app.Name, "builds")
	entries, _ := os.ReadDir(buildsDir)
	for _, ent := range entries {
		n, err := strconv.Atoi(ent.Name())
		dir := filepath.Join(buildsDir, ent.Name())
		// Keep recent builds (their logs), builds of kept releases, and any
		// build newer than the newest release: it may be in progress.
		if err != nil || n > newest-KeepReleases || keep[dir] {
			continue
		}
		if err := os.RemoveAll(dir); err == nil {
			e.Logger.Info("removed an old build", "app", app.Name, "build", n)
		}
	}
}
