package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nonstopdev/nonstop/internal/archive"
	"github.com/nonstopdev/nonstop/internal/pipeline"
	"github.com/nonstopdev/nonstop/internal/rollout"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/wire"
)

// deploy takes a source archive (tar.gz or zip) as the request body, checks
// it and its nonstop.yaml, and starts a rollout. Nothing is recorded unless
// both are good.
func (a *API) deploy(w http.ResponseWriter, r *http.Request, u *store.User) error {
	app, err := a.app(r, u)
	if err != nil {
		return err
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return a.deployJSON(w, r, u, app)
	}
	if err := os.MkdirAll(a.TempDir, 0o700); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(a.TempDir, "upload-")
	if err != nil {
		return err
	}
	owned := false
	defer func() {
		if !owned {
			os.RemoveAll(dir)
		}
	}()
	body := http.MaxBytesReader(w, r.Body, a.Limits.MaxBytes)
	if err := archive.Extract(body, dir, a.Limits); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fmt.Errorf("source archive: larger than %d bytes: %w", a.Limits.MaxBytes, errTooLarge)
		}
		if errors.Is(err, archive.ErrTooLarge) {
			return fmt.Errorf("source archive: %v: %w", err, errTooLarge)
		}
		return fmt.Errorf("source archive: %v: %w", err, errBadRequest)
	}
	// An archive a person made of the app's folder (shop-main/...) starts
	// in it; the CLI's is the folder it was pointed at, as it is.
	opts := wire.DeployOptionsOf(r.URL.Query())
	if opts.Source != "cli" {
		if _, err := archive.Unwrap(dir); err != nil {
			return err
		}
	}
	sp, err := spec.Load(dir)
	if err != nil {
		return fmt.Errorf("%v: %w", err, errBadRequest)
	}
	if sp.Name != "" && sp.Name != app.Name {
		return fmt.Errorf("%s names app %q but this deploy is to app %q: %w", spec.FileName, sp.Name, app.Name, errBadRequest)
	}
	if st := opts.Strategy; st != "" {
		if sp, err = sp.WithStrategy(spec.Strategy(st)); err != nil {
			return fmt.Errorf("%v: %w", err, errBadRequest)
		}
	}
	source := opts.Source
	if source == "" {
		source = "upload"
	}
	sha := opts.GitSHA
	if sha != "" && !gitSHARE.MatchString(sha) {
		return fmt.Errorf("sha %q is not a git commit id: %w", sha, errBadRequest)
	}
	if sha != "" {
		source += " " + sha[:min(12, len(sha))]
	}
	ro, _, err := a.Pipeline.Submit(r.Context(), pipeline.Source{App: app, Dir: dir, Spec: sp, Trigger: trigger(source), Label: source, Commit: sha, By: u.Name,
		ByAdmin: u.Role == store.RoleAdmin})
	if err != nil {
		return err
	}
	owned = true
	writeJSON(w, http.StatusCreated, wireRollout(ro))
	return nil
}

func (a *API) rolloutOf(r *http.Request, u *store.User) (*store.Rollout, error) {
	app, err := a.app(r, u)
	if err != nil {
		return nil, err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("deploy id %q is not a number: %w", r.PathValue("id"), errBadRequest)
	}
	ro, err := a.Store.Rollout(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if ro.AppID != app.ID {
		return nil, fmt.Errorf("deploy #%d of app %s: %w", id, app.Name, store.ErrNotFound)
	}
	return ro, nil
}

func (a *API) getRollout(w http.ResponseWriter, r *http.Request, u *store.User) error {
	ro, err := a.rolloutOf(r, u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wireRollout(ro))
	return nil
}

func (a *API) listRollouts(w http.ResponseWriter, r *http.Request, u *store.User) error {
	app, err := a.app(r, u)
	if err != nil {
		return err
	}
	rs, err := a.Store.Rollouts(r.Context(), app.ID, 50)
	if err != nil {
		return err
	}
	if rs == nil {
		rs = []*store.Rollout{}
	}
	writeJSON(w, http.StatusOK, each(rs, wireRollout))
	return nil
}

// rolloutEvents streams a rollout's events as Server-Sent Events, from the
// start or after Last-Event-ID, and ends with an `end` event carrying the
// rollout once it is over.
func (a *API) rolloutEvents(w http.ResponseWriter, r *http.Request, u *store.User) error {
	ro, err := a.rolloutOf(r, u)
	if err != nil {
		return err
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		return errors.New("streaming is not supported by this connection")
	}
	var after int64
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		after, _ = strconv.ParseInt(id, 10, 64)
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	// Woken by every write of the rollout and its events.
	written, stop := a.Store.Watch(func(c store.Change) bool { return c.Rollout == ro.ID })
	defer stop()
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		// Read the state before the events, so no event is missed at the end.
		cur, err := a.Store.Rollout(r.Context(), ro.ID)
		if err != nil {
			return nil
		}
		events, err := a.Store.RolloutEvents(r.Context(), ro.ID, after, 500)
		if err != nil {
			return nil
		}
		for _, e := range events {
			data, _ := json.Marshal(wireEvent(e))
			fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Kind, data)
			after = e.ID
		}
		if len(events) > 0 {
			flusher.Flush()
		}
		if len(events) == 500 {
			continue // more are there already
		}
		if cur.State.Terminal() {
			data, _ := json.Marshal(wireRollout(cur))
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", wire.EventEnd, data)
			flusher.Flush()
			return nil
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-keepalive.C:
			fmt.Fprint(w, ": keepalive\n\n")
			flusher.Flush()
		case <-written:
		}
	}
}

var gitSHARE = regexp.MustCompile(`^[0-9a-f]{7,64}$`)

func (a *API) deployJSON(w http.ResponseWriter, r *http.Request, u *store.User, app *store.App) error {
	var req wire.DeployRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if req.Git != nil {
		return a.deployGit(w, r, u, app, req.Git.URL, req.Git.Ref)
	}
	if strings.TrimSpace(req.Image) == "" {
		return fmt.Errorf(`want {"image": "REF"} or a source archive: %w`, errBadRequest)
	}
	var sp *spec.Spec
	switch {
	case req.Spec != "":
		parsed, err := spec.Parse([]byte(req.Spec))
		if err != nil {
			return fmt.Errorf("%v: %w", err, errBadRequest)
		}
		parsed.ApplyDefaults(true)
		if err := parsed.Validate(); err != nil {
			return fmt.Errorf("%v: %w", err, errBadRequest)
		}
		sp = parsed
	case app.LiveRelease > 0:
		live, err := a.Store.Release(r.Context(), app.ID, app.LiveRelease)
		if err != nil {
			return err
		}
		sp = &live.Spec
	default:
		def := &spec.Spec{}
		def.ApplyDefaults(true)
		sp = def
	}
	if sp.Name != "" && sp.Name != app.Name {
		return fmt.Errorf("%s names app %q but this deploy is to app %q: %w", spec.FileName, sp.Name, app.Name, errBadRequest)
	}
	if err := a.mayDeployImage(u, app.Name, strings.TrimSpace(req.Image)); err != nil {
		return err
	}
	ro, err := a.Pipeline.SubmitImage(r.Context(), app, strings.TrimSpace(req.Image), sp, u.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, wireRollout(ro))
	return nil
}

// trigger names what started an upload's run, from its source label.
func trigger(source string) string {
	switch first, _, _ := strings.Cut(source, " "); first {
	case "cli", "push", "demo":
		return first
	}
	return "upload"
}

// deployGit queues a run that fetches ref (a branch, a tag or a commit)
// from a repository and deploys it.
func (a *API) deployGit(w http.ResponseWriter, r *http.Request, u *store.User, app *store.App, repo, ref string) error {
	if a.Pipeline == nil {
		return fmt.Errorf("deploying a git revision: %w", rollout.ErrUnsupported)
	}
	if repo == "" {
		repo = app.Source.Repo
	}
	if repo == "" {
		return fmt.Errorf(`git deploy: give "url" or set the app's repo (nonstop apps set %s --repo URL): %w`, app.Name, errBadRequest)
	}
	if err := checkRepo(r.Context(), repo, u.Role == store.RoleAdmin); err != nil {
		return err
	}
	if ref == "" {
		ref = "refs/heads/" + app.Source.Branch
	}
	if strings.HasPrefix(ref, "-") || strings.ContainsAny(ref, " \t\r\n~^:?*[\\") {
		return fmt.Errorf("git deploy: ref %q is not a ref or a commit: %w", ref, errBadRequest)
	}
	req := pipeline.Request{App: app, Trigger: "cli", Repo: repo, StartedBy: u.Name}
	if gitSHARE.MatchString(ref) {
		req.Commit = ref
	} else {
		req.Ref = ref
	}
	run, err := a.Pipeline.Enqueue(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, wire.QueuedRun{Run: run.Number, State: wire.RunState(run.State)})
	return nil
}

// mayDeployImage refuses a member an image that is neither one of the
// app's own (its repository: REGISTRY/APP) nor under a prefix an admin
// allowed: another team's build, or anything pulled with the server's
// registry credentials.
func (a *API) mayDeployImage(u *store.User, app, ref string) error {
	if u.Role == store.RoleAdmin {
		return nil
	}
	var allowed []string
	if a.ImageRepo != nil {
		repo := a.ImageRepo(app)
		if rest, ok := strings.CutPrefix(ref, repo); ok && (strings.HasPrefix(rest, ":") || strings.HasPrefix(rest, "@")) {
			return nil
		}
		allowed = append(allowed, repo)
	}
	for _, p := range a.ImagePrefixes {
		if strings.HasPrefix(ref, p) {
			return nil
		}
		allowed = append(allowed, p+"…")
	}
	return fmt.Errorf("image %s: a member deploys the app's own images (%s) only; an admin may allow more with nonstop server --image-prefix: %w",
		ref, strings.Join(allowed, ", "), errForbidden)
}
