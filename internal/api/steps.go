package api

import (
	"fmt"
	"net/http"

	"github.com/nonstopdev/nonstop/internal/rollout"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/wire"
)

// promote ends the current canary step now (or all of them, with full).
func (a *API) promote(w http.ResponseWriter, r *http.Request, u *store.User) error {
	var req wire.SignalRequest
	if r.ContentLength != 0 {
		if err := readJSON(r, &req); err != nil {
			return err
		}
	}
	sig := rollout.SignalPromote
	if req.Full {
		sig = rollout.SignalPromoteFull
	}
	return a.signal(w, r, u, sig)
}

func (a *API) pauseRollout(w http.ResponseWriter, r *http.Request, u *store.User) error {
	return a.signal(w, r, u, rollout.SignalPause)
}

func (a *API) resumeRollout(w http.ResponseWriter, r *http.Request, u *store.User) error {
	return a.signal(w, r, u, rollout.SignalResume)
}

func (a *API) signal(w http.ResponseWriter, r *http.Request, u *store.User, sig string) error {
	app, err := a.app(r, u)
	if err != nil {
		return err
	}
	ro, err := a.Engine.Signal(r.Context(), app, sig)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, wireRollout(ro))
	return nil
}

// abort stops the app's rollout in progress: a build is killed, a rollout
// under way rolls back.
func (a *API) abort(w http.ResponseWriter, r *http.Request, u *store.User) error {
	app, err := a.app(r, u)
	if err != nil {
		return err
	}
	rs, err := a.Store.Rollouts(r.Context(), app.ID, 1)
	if err != nil {
		return err
	}
	if len(rs) == 0 || rs[0].State.Terminal() {
		return fmt.Errorf("app %s has no rollout in progress: %w", app.Name, rollout.ErrInvalid)
	}
	if !a.Pipeline.Abort(rs[0].ID, "aborted by "+u.Name) {
		return fmt.Errorf("rollout #%d is not running in this server: %w", rs[0].ID, store.ErrConflict)
	}
	writeJSON(w, http.StatusAccepted, wireRollout(rs[0]))
	return nil
}
