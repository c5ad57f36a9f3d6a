package pipeline

import (
	"time"

	"github.com/nonstopdev/nonstop/internal/store"
)

// poll looks at the head of an app's branch when its poll interval has
// passed, and queues a run for a commit it has not seen.
func (p *Pipeline) poll(app *store.App) {
	src := app.Source
	if src.Poll <= 0 || src.Repo == "" {
		return
	}
	p.mu.Lock()
	due := time.Since(p.polled[app.ID]) >= src.Poll
	if due {
		p.polled[app.ID] = time.Now()
	}
	seen, known := p.lastSeen[app.ID]
	p.mu.Unlock()
	if !due {
		return
	}
	ref := "refs/heads/" + src.Branch
	sha, err := lsRemote(p.ctx, src.Repo, ref)
	if err != nil {
		p.Logger.Warn("poll", "app", app.Name, "err", err)
		return
	}
	if !known {
		seen = p.lastDeployedCommit(app.ID)
	}
	p.mu.Lock()
	p.lastSeen[app.ID] = sha
	p.mu.Unlock()
	if sha == seen {
		return
	}
	if _, err := p.Enqueue(p.ctx, Request{App: app, Trigger: "poll", Repo: src.Repo, Ref: ref, Commit: sha, StartedBy: "poll of " + src.Branch}); err != nil {
		p.Logger.Warn("poll: queue a run", "app", app.Name, "err", err)
	}
}

// lastDeployedCommit is the commit of the app's newest run, so that a
// restart does not deploy the same commit again.
func (p *Pipeline) lastDeployedCommit(appID int64) string {
	runs, err := p.Store.Runs(p.ctx, appID, 1)
	if err != nil || len(runs) == 0 {
		return ""
	}
	return runs[0].Commit
}
