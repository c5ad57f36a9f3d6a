package api

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/wire"
)

// started answers a request that started a rollout (202 with the rollout),
// or that took effect at once (200).
func started(w http.ResponseWriter, ro *store.Rollout, done string) {
	if ro == nil {
		writeJSON(w, http.StatusOK, wire.Result{Result: done})
		return
	}
	writeJSON(w, http.StatusAccepted, wireRollout(ro))
}

func (a *API) rollback(w http.ResponseWriter, r *http.Request, u *store.User) error {
	app, err := a.app(r, u)
	if err != nil {
		return err
	}
	var req wire.RollbackRequest
	if r.ContentLength != 0 {
		if err := readJSON(r, &req); err != nil {
			return err
		}
	}
	to := 0
	if req.To != "" {
		if to, err = strconv.Atoi(strings.TrimPrefix(req.To, "v")); err != nil || to < 1 {
			return fmt.Errorf("release %q: want vN: %w", req.To, errBadRequest)
		}
	}
	ro, err := a.Engine.Rollback(r.Context(), app, to, u.Name)
	if err != nil {
		return err
	}
	started(w, ro, "")
	return nil
}

func (a *API) scale(w http.ResponseWriter, r *http.Request, u *store.User) error {
	app, err := a.app(r, u)
	if err != nil {
		return err
	}
	var req wire.ScaleRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	ro, err := a.Engine.Scale(r.Context(), app, req.Instances, u.Name)
	if err != nil {
		return err
	}
	started(w, ro, fmt.Sprintf("%s will run %d instance(s) from its next deploy", app.Name, req.Instances))
	return nil
}

func (a *API) stop(w http.ResponseWriter, r *http.Request, u *store.User) error {
	app, err := a.app(r, u)
	if err != nil {
		return err
	}
	ro, err := a.Engine.Stop(r.Context(), app, u.Name)
	if err != nil {
		return err
	}
	started(w, ro, "")
	return nil
}

func (a *API) start(w http.ResponseWriter, r *http.Request, u *store.User) error {
	app, err := a.app(r, u)
	if err != nil {
		return err
	}
	ro, err := a.Engine.Start(r.Context(), app, u.Name)
	if err != nil {
		return err
	}
	started(w, ro, "")
	return nil
}

func (a *API) getEnv(w http.ResponseWriter, r *http.Request, u *store.User) error {
	app, err := a.app(r, u)
	if err != nil {
		return err
	}
	reveal := r.URL.Query().Get("reveal") == "1"
	if reveal && !u.Role.CanAct() {
		return fmt.Errorf("%s is a viewer of app %s: viewers see the env's names, not its values: %w", u.Name, app.Name, errForbidden)
	}
	out := []wire.EnvVar{}
	for k, v := range app.Env {
		if !reveal {
			v = "********"
		}
		out = append(out, wire.EnvVar{Name: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	writeJSON(w, http.StatusOK, out)
	return nil
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (a *API) setEnv(w http.ResponseWriter, r *http.Request, u *store.User) error {
	app, err := a.app(r, u)
	if err != nil {
		return err
	}
	var req wire.EnvRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	for k := range req.Set {
		if !envNameRE.MatchString(k) || k == "PORT" {
			return fmt.Errorf("env name %q: want letters, digits and _, not starting with a digit, and not PORT (nonstop sets it): %w", k, errBadRequest)
		}
	}
	if len(req.Set) == 0 && len(req.Unset) == 0 {
		return fmt.Errorf("nothing to set or unset: %w", errBadRequest)
	}
	ro, err := a.Engine.SetEnv(r.Context(), app, req.Set, req.Unset, u.Name)
	if err != nil {
		return err
	}
	started(w, ro, "env saved; it applies at the next deploy")
	return nil
}
