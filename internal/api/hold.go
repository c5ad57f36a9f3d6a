package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/wire"
)

func (a *API) hold(w http.ResponseWriter, r *http.Request, u *store.User) error {
	app, err := a.app(r, u)
	if err != nil {
		return err
	}
	var req wire.HoldRequest
	if r.ContentLength != 0 {
		if err := readJSON(r, &req); err != nil {
			return err
		}
	}
	var maxWait time.Duration
	if req.MaxWait != "" {
		if maxWait, err = time.ParseDuration(req.MaxWait); err != nil {
			return fmt.Errorf("max_wait %q: want a duration such as 30s or 2m: %w", req.MaxWait, errBadRequest)
		}
	}
	h, err := a.Engine.Hold(r.Context(), app, maxWait, req.MaxQueue)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.HoldResult{
		Result: fmt.Sprintf("requests to %s are held, each for at most %s and at most %d at once; `nonstop unhold %s` lets them through in order",
			app.Name, h.MaxWait, h.MaxQueue, app.Name),
		Hold: wireHold(h),
	})
	return nil
}

func (a *API) unhold(w http.ResponseWriter, r *http.Request, u *store.User) error {
	app, err := a.app(r, u)
	if err != nil {
		return err
	}
	was, err := a.Engine.Unhold(r.Context(), app)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("requests to %s go through; the held ones first, in the order they came", app.Name)
	if !was {
		msg = fmt.Sprintf("requests to %s were not held", app.Name)
	}
	writeJSON(w, http.StatusOK, wire.HoldResult{Result: msg})
	return nil
}
