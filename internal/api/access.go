package api

import (
	"fmt"
	"net/http"

	"github.com/nonstopdev/nonstop/internal/store"
)

// Access is who may call a route. Every route the API serves is
// registered with one (Routes lists them), so that none is served
// without a rule.
type Access string

const (
	// Public routes answer without a token; each checks what it needs
	// itself (a forge's signature, a build's one-time token, git's HTTP
	// password) or serves nothing secret.
	Public Access = "public"
	// Anyone is any authenticated user, on what is theirs (their own
	// tokens, the apps and teams they may see).
	Anyone Access = "anyone"
	// ReadsApp reads the {app} of the route: the user's teams' apps
	// (admins: all). Another team's app is not found.
	ReadsApp Access = "reads-app"
	// ActsOnApp changes the {app} of the route: as ReadsApp, and viewers
	// are refused.
	ActsOnApp Access = "acts-on-app"
	// Acts changes something not of one app (creates an app): viewers
	// are refused.
	Acts Access = "acts"
	// Self is the {user} of the route acting on their own account, or an
	// admin on anyone's.
	Self Access = "self"
	// AdminOnly manages users and teams, and reads the whole server.
	AdminOnly Access = "admin"
)

// Route is one registered route and who may call it.
type Route struct {
	Pattern string
	Access  Access
}

// Routes lists every route the API serves, with its access.
func (a *API) Routes() []Route { return a.table }

// allow checks u against a route's access before its handler runs.
func (a *API) allow(r *http.Request, u *store.User, access Access) error {
	switch access {
	case AdminOnly:
		if u.Role != store.RoleAdmin {
			return fmt.Errorf("%s is a %s: only admins may %s %s: %w", u.Name, u.Role, r.Method, r.URL.Path, errForbidden)
		}
	case Self:
		if name := r.PathValue("user"); u.Role != store.RoleAdmin && name != u.Name {
			return fmt.Errorf("%s may change their own account, not %s's (admins may): %w", u.Name, name, errForbidden)
		}
	case Acts:
		if !u.Role.CanAct() {
			return fmt.Errorf("%s is a viewer: viewers see, they do not change anything: %w", u.Name, errForbidden)
		}
	case ReadsApp, ActsOnApp:
		app, err := a.app(r, u) // another team's app is not found
		if err != nil {
			return err
		}
		if access == ActsOnApp && !u.Role.CanAct() {
			return fmt.Errorf("%s is a viewer of app %s: viewers see it, they do not change it: %w", u.Name, app.Name, errForbidden)
		}
	}
	return nil
}
