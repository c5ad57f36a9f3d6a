package api

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nonstopdev/nonstop/internal/pipeline"
	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/rollout"
	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/strategy"
	"github.com/nonstopdev/nonstop/internal/wire"
)

var hostnameRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func (a *API) createApp(w http.ResponseWriter, r *http.Request, u *store.User) error {
	var req wire.CreateAppRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if err := spec.ValidName(req.Name); err != nil {
		return fmt.Errorf("app name: %v: %w", err, errBadRequest)
	}
	domains, err := a.domainsFor(r, u, req.Name, req.Domains)
	if err != nil {
		return err
	}
	req.Domains = domains
	team, err := a.teamFor(r, u, req.Team)
	if err != nil {
		return err
	}
	note(w, req.Name, "")
	app, err := a.Store.CreateApp(r.Context(), req.Name, team, req.Domains)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, wireAppView(a.appView(app)))
	return nil
}

// teamFor is the team a new app of u goes to: the one named (admins: any;
// others: one of theirs; another is not found), else u's first.
func (a *API) teamFor(r *http.Request, u *store.User, name string) (int64, error) {
	if name == "" {
		if len(u.Teams) == 0 {
			return 0, fmt.Errorf("user %s belongs to no team, so cannot own an app: %w", u.Name, errBadRequest)
		}
		return u.Teams[0], nil
	}
	id, err := a.Store.TeamID(r.Context(), name)
	if err != nil {
		return 0, err
	}
	if !u.CanAccess(id) {
		return 0, fmt.Errorf("team %s: %w", name, store.ErrNotFound)
	}
	return id, nil
}

// appView is an app as the API shows it (answered as a wire.App).
type appView struct {
	*store.App
	URLs []string
}

func (a *API) appView(app *store.App) appView {
	shown := *app
	shown.Source.Repo = pipeline.RedactURL(app.Source.Repo)
	v := appView{App: &shown}
	for _, h := range a.Engine.Hosts(app) {
		v.URLs = append(v.URLs, proxy.HostURL(a.ProxyURL, h))
	}
	return v
}

func (a *API) listApps(w http.ResponseWriter, r *http.Request, u *store.User) error {
	apps, err := a.Store.Apps(r.Context())
	if err != nil {
		return err
	}
	out := []appView{}
	for _, app := range apps {
		if !u.CanAccess(app.TeamID) {
			continue
		}
		v := a.appView(app)
		if urls, ok, err := a.urlsOf(r.Context(), app); err == nil && ok {
			v.URLs = urls // nonstop's proxy does not carry this app's traffic
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, each(out, wireAppView))
	return nil
}

// AppStatus is everything `nonstop status` shows (answered as a
// wire.AppStatus).
type AppStatus struct {
	appView
	Live    *store.Release
	Rollout *store.Rollout
	// Waiting says what the rollout in progress waits for (a promote,
	// traffic to judge a canary by) and what to do, when it waits.
	Waiting   string
	Instances []InstanceState
	// Problems are what nonstop could not record of the app's rollouts
	// (a final state the store refused), until it is recorded.
	Problems []string
	// Actions are what the caller may do to the app now (rollout.Actions,
	// none for a viewer).
	Actions []string
}

// InstanceState joins what the store, the runtime and the proxy know of an
// instance (answered as a wire.Instance).
type InstanceState struct {
	*store.Instance
	Runtime *runtime.Status
	Proxy   *proxy.BackendStatus
	// On Kubernetes, an instance is a pod: its node, and why it is not
	// ready (Kubernetes' readiness, not the proxy's).
	Node    string
	Problem string
}

func (a *API) getApp(w http.ResponseWriter, r *http.Request, u *store.User) error {
	app, err := a.app(r, u)
	if err != nil {
		return err
	}
	st := AppStatus{appView: a.appView(app)}
	if urls, ok, err := a.urlsOf(r.Context(), app); err != nil {
		return err
	} else if ok {
		st.URLs = urls // nonstop's proxy does not carry this app's traffic
	}
	if app.LiveRelease > 0 {
		if st.Live, err = a.Store.Release(r.Context(), app.ID, app.LiveRelease); err != nil {
			return err
		}
	}
	if rs, err := a.Store.Rollouts(r.Context(), app.ID, 1); err != nil {
		return err
	} else if len(rs) > 0 {
		st.Rollout = rs[0]
		if !rs[0].State.Terminal() {
			last, err := a.Store.LastRolloutEvent(r.Context(), rs[0].ID)
			if err != nil {
				return err
			}
			if last != nil && last.Kind == "waiting" {
				st.Waiting = last.Message
			}
		}
	}
	for _, p := range a.Engine.Problems() {
		if p.App == app.Name {
			st.Problems = append(st.Problems, p.String())
		}
	}
	if st.Actions, err = a.actionsOn(r.Context(), u, app, st.Rollout); err != nil {
		return err
	}
	if st.Instances, err = a.instanceStates(r, app, true); err != nil {
		return err
	}
	a.addUsage(r.Context(), st.Instances)
	writeJSON(w, http.StatusOK, wireAppStatus(st))
	return nil
}

func (a *API) instances(w http.ResponseWriter, r *http.Request, u *store.User) error {
	app, err := a.app(r, u)
	if err != nil {
		return err
	}
	all := r.URL.Query().Get("all") != ""
	states, err := a.instanceStates(r, app, !all)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, each(states, wireInstanceState))
	return nil
}

func (a *API) instanceStates(r *http.Request, app *store.App, activeOnly bool) ([]InstanceState, error) {
	members, err := a.membersOf(r.Context(), app, activeOnly)
	if err != nil {
		return nil, err
	}
	out := make([]InstanceState, 0, len(members))
	for _, m := range members {
		out = append(out, InstanceState{Instance: m.Instance, Runtime: m.Runtime, Proxy: m.Proxy, Node: m.Node, Problem: m.Problem})
	}
	return out, nil
}

func (a *API) deleteApp(w http.ResponseWriter, r *http.Request, u *store.User) error {
	app, err := a.app(r, u)
	if err != nil {
		return err
	}
	if err := a.Engine.Delete(r.Context(), app); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.Deleted{Deleted: app.Name})
	return nil
}

func (a *API) releases(w http.ResponseWriter, r *http.Request, u *store.User) error {
	app, err := a.app(r, u)
	if err != nil {
		return err
	}
	rels, err := a.Store.Releases(r.Context(), app.ID)
	if err != nil {
		return err
	}
	out := []*wire.Release{}
	for _, rel := range rels {
		wr := wireRelease(rel)
		wr.CanRollBackTo = rollout.CanRollBackTo(app, rel)
		out = append(out, wr)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// actionsOn lists what u may do to app now, its newest rollout being last.
func (a *API) actionsOn(ctx context.Context, u *store.User, app *store.App, last *store.Rollout) ([]string, error) {
	if u.Role == store.RoleViewer {
		return []string{}, nil
	}
	progressive, judged := false, false
	if last != nil && !last.State.Terminal() {
		s := strategy.For(last.Strategy)
		progressive = strategy.Progressive(s)
		if progressive && last.ToRelease > 0 {
			rel, err := a.Store.Release(ctx, app.ID, last.ToRelease)
			if err != nil {
				return nil, err
			}
			judged = strategy.Judged(s, &rel.Spec)
		}
	}
	canRollBack := false
	if app.LiveRelease > 0 {
		rels, err := a.Store.Releases(ctx, app.ID)
		if err != nil {
			return nil, err
		}
		canRollBack = slices.ContainsFunc(rels, func(rel *store.Release) bool { return rollout.CanRollBackTo(app, rel) })
	}
	return rollout.Actions(app, last, progressive, judged, canRollBack), nil
}

// addUsage fills in the instances' resource use where the runtime measures
// it, all at once and within a few seconds.
func (a *API) addUsage(ctx context.Context, states []InstanceState) {
	u, ok := a.Runtime.(runtime.UsageReader)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range states {
		if states[i].Runtime == nil || states[i].Runtime.State != runtime.StateRunning {
			continue
		}
		wg.Add(1)
		go func(s *InstanceState) {
			defer wg.Done()
			if use, err := u.Usage(ctx, s.ID); err == nil {
				s.Runtime.CPUPercent, s.Runtime.MemoryBytes = use.CPUPercent, use.MemoryBytes
			}
		}(&states[i])
	}
	wg.Wait()
}

// cleanDomains lowercases domains and checks each is a host name.
func cleanDomains(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, d := range in {
		d = strings.ToLower(strings.TrimSpace(d))
		if !hostnameRE.MatchString(d) {
			return nil, fmt.Errorf("domain %q is not a host name: %w", d, errBadRequest)
		}
		out = append(out, d)
	}
	return out, nil
}
