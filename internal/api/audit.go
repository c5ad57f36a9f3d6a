package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/wire"
)

// The audit log: every request that changes something (or tries to) is
// recorded after it is answered — who, what, on which app, the status,
// from where — and so are logins. Its values are names and ids, never a
// body: an env change says "env set", not the values.

// actions names the changes whose name is not their route's last word.
var actions = map[string]string{
	"POST /api/v1/apps":                          "app create",
	"DELETE /api/v1/apps/{app}":                  "app delete",
	"PATCH /api/v1/apps/{app}":                   "app set",
	"POST /api/v1/apps/{app}/deploys":            "deploy",
	"POST /api/v1/apps/{app}/env":                "env set",
	"POST /api/v1/apps/{app}/runs/{n}/cancel":    "run cancel",
	"POST /api/v1/users":                         "user create",
	"DELETE /api/v1/users/{user}":                "user delete",
	"PUT /api/v1/users/{user}/password":          "password set",
	"POST /api/v1/teams":                         "team create",
	"POST /api/v1/teams/{team}/members":          "team add",
	"DELETE /api/v1/teams/{team}/members/{user}": "team remove",
	"POST /api/v1/tokens":                        "token create",
	"DELETE /api/v1/tokens/{id}":                 "token revoke",
}

// actionOf is what a request of this route does, as the audit log says it.
func actionOf(pattern string) string {
	if a, ok := actions[pattern]; ok {
		return a
	}
	return pattern[strings.LastIndex(pattern, "/")+1:] // rollback, scale, stop, promote, ...
}

// changes reports whether a request may change something.
func changes(r *http.Request) bool {
	return r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions
}

// statusWriter remembers the status a handler answered with, and what
// the handler said its change named when the route does not (note).
type statusWriter struct {
	http.ResponseWriter
	status      int
	app, target string
}

// note tells the audit log what a change named that its route does not:
// the app it created, the user or team it made.
func note(w http.ResponseWriter, app, target string) {
	if sw, ok := w.(*statusWriter); ok {
		sw.app, sw.target = app, target
	}
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Flush lets streams through (the handlers that stream are GETs, not
// audited, but the writer stays a Flusher for them all the same).
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// audit records what user did with request r: its action and status, and
// what it named (app, target: its route's, or what its handler noted).
func (a *API) audit(r *http.Request, user, action string, status int, app, target string) {
	if target == "" {
		target = r.PathValue("user")
		for _, k := range []string{"team", "id", "n"} {
			if v := r.PathValue(k); v != "" {
				target = strings.TrimSpace(k + " " + v + " " + target)
			}
		}
	}
	if app == "" {
		app = r.PathValue("app")
	}
	e := store.AuditEntry{User: user, Action: action, App: app, Target: target, Status: status, Addr: remoteHost(r)}
	if err := a.Store.AddAudit(context.WithoutCancel(r.Context()), e); err != nil {
		a.Logger.Error("record in the audit log", "user", user, "action", action, "err", err)
	}
}

// listAudit shows admins every entry; others the entries of the apps they
// may see, and their own.
func (a *API) listAudit(w http.ResponseWriter, r *http.Request, u *store.User) error {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return fmt.Errorf("limit %q: want 1 to 10000: %w", v, errBadRequest)
		}
		limit = n
	}
	app := r.URL.Query().Get("app")
	visible := map[string]bool{}
	keep := func(e store.AuditEntry) bool {
		if u.Role == store.RoleAdmin || e.User == u.Name {
			return true
		}
		if e.App == "" {
			return false
		}
		seen, ok := visible[e.App]
		if !ok {
			got, err := a.Store.App(r.Context(), e.App)
			seen = err == nil && u.CanAccess(got.TeamID)
			visible[e.App] = seen
		}
		return seen
	}
	entries, err := a.Store.Audit(r.Context(), app, limit, keep)
	if err != nil {
		return err
	}
	out := []wire.AuditEntry{}
	for _, e := range entries {
		out = append(out, wire.AuditEntry{Time: e.Time, User: e.User, Action: e.Action, App: e.App, Target: e.Target, Status: e.Status, Addr: e.Addr})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
