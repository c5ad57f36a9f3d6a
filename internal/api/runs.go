package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/wire"
)

func (a *API) runOf(r *http.Request, u *store.User) (*store.App, *store.Run, error) {
	app, err := a.app(r, u)
	if err != nil {
		return nil, nil, err
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil {
		return nil, nil, fmt.Errorf("run %q is not a number: %w", r.PathValue("n"), errBadRequest)
	}
	run, err := a.Store.Run(r.Context(), app.ID, n)
	if err != nil {
		return nil, nil, fmt.Errorf("run #%d of %s: %w", n, app.Name, store.ErrNotFound)
	}
	return app, run, nil
}

func (a *API) listRuns(w http.ResponseWriter, r *http.Request, u *store.User) error {
	app, err := a.app(r, u)
	if err != nil {
		return err
	}
	runs, err := a.Store.Runs(r.Context(), app.ID, 50)
	if err != nil {
		return err
	}
	out := []*wire.RunView{}
	for _, run := range runs {
		v, err := a.Pipeline.View(r.Context(), run)
		if err != nil {
			return err
		}
		out = append(out, wireRunView(v))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getRun(w http.ResponseWriter, r *http.Request, u *store.User) error {
	_, run, err := a.runOf(r, u)
	if err != nil {
		return err
	}
	v, err := a.Pipeline.View(r.Context(), run)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wireRunView(v))
	return nil
}

func (a *API) runLogs(w http.ResponseWriter, r *http.Request, u *store.User) error {
	_, run, err := a.runOf(r, u)
	if err != nil {
		return err
	}
	text, err := a.Pipeline.Logs(r.Context(), run)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(text))
	return nil
}

func (a *API) cancelRun(w http.ResponseWriter, r *http.Request, u *store.User) error {
	app, run, err := a.runOf(r, u)
	if err != nil {
		return err
	}
	run, err = a.Pipeline.Cancel(r.Context(), app, run.Number, u.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wireRun(run))
	return nil
}
