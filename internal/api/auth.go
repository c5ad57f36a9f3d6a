package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/nonstopdev/nonstop/internal/auth"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/wire"
)

// authenticate finds the user a request's bearer token acts as.
func (a *API) authenticate(r *http.Request) (*store.User, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		if u, ok, err := a.sessionUser(r.Context(), r); ok {
			return u, err
		}
		return nil, fmt.Errorf("missing token: send Authorization: Bearer TOKEN (see nonstop login): %w", errUnauthorized)
	}
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		return nil, fmt.Errorf("malformed Authorization header: want Bearer TOKEN: %w", errUnauthorized)
	}
	u, err := a.Store.UserByTokenHash(r.Context(), auth.Hash(strings.TrimSpace(token)))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("invalid token: %w", errUnauthorized)
	}
	if err != nil {
		return nil, err
	}
	return u, nil
}

// app loads the {app} of the request, if the user may act on it. An app of
// another team is reported as not found, so names do not leak.
func (a *API) app(r *http.Request, u *store.User) (*store.App, error) {
	name := r.PathValue("app")
	app, err := a.Store.App(r.Context(), name)
	// A missing app and another team's answer alike, with what to do.
	if errors.Is(err, store.ErrNotFound) || err == nil && !u.CanAccess(app.TeamID) {
		return nil, fmt.Errorf("app %q does not exist (nonstop apps create %s makes it): %w", name, name, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return app, nil
}

func (a *API) whoami(w http.ResponseWriter, r *http.Request, u *store.User) error {
	writeJSON(w, http.StatusOK, wire.Whoami{Name: u.Name, Role: string(u.Role)})
	return nil
}
