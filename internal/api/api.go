// Package api is nonstop's REST API: JSON under /api/v1/, bearer tokens,
// Server-Sent Events for rollout progress. Handlers parse and authorise;
// the rollout engine and the store do the work.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/nonstopdev/nonstop/internal/archive"
	"github.com/nonstopdev/nonstop/internal/pipeline"
	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/rollout"
	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/web"
	"github.com/nonstopdev/nonstop/internal/wire"
)

// Config wires the API.
type Config struct {
	Store   *store.Store
	Engine  *rollout.Engine
	Runtime runtime.Runtime
	Proxy   proxy.Controller
	Logger  *slog.Logger
	// TempDir is where uploads are unpacked before they are checked.
	TempDir string
	// ProxyURL is where apps are served, for status output (e.g. http://HOST:8080).
	ProxyURL string
	Limits   archive.Limits
	Version  string
	// Metrics, when set, serves GET /metrics (Prometheus) to admins.
	Metrics http.Handler
	// Pipeline numbers and runs deploys from every source (runs, webhooks).
	Pipeline *pipeline.Pipeline
	// ImageRepo is the repository of an app's own images (its builds'):
	// REGISTRY/APP, or nonstop/APP without a registry. A member deploys
	// only those with deploy --image, or ones under ImagePrefixes (an
	// admin's choice: --image-prefix); admins deploy any.
	ImageRepo     func(app string) string
	ImagePrefixes []string

	// Git push on /git/{app}.git, when DataDir is set: repositories in
	// DataDir/git; the push hook deploys through APIURL.
	DataDir string
	APIURL  string
}

// API is the HTTP handler of the control plane.
type API struct {
	Config
	mux    *http.ServeMux
	table  []Route  // every route served, with its access
	logins *limiter // failed logins, per account and address
	// pushNotices keeps, by app, what a first push that created it should
	// be told, from git's first request of the push to its second.
	pushNotices sync.Map
}

// New returns the API handler.
func New(cfg Config) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Limits == (archive.Limits{}) {
		cfg.Limits = archive.DefaultLimits()
	}
	a := &API{Config: cfg, mux: http.NewServeMux(), logins: newLimiter(loginTries, loginWindow, time.Now)}
	a.routes()
	return a
}

func (a *API) routes() {
	a.public("GET /healthz", http.HandlerFunc(a.health))
	a.handle("GET /api/v1/whoami", Anyone, a.whoami)
	a.public("POST /api/v1/login", http.HandlerFunc(a.login)) // a name and a password, rate-limited
	a.handle("POST /api/v1/logout", Anyone, a.logout)
	a.handle("GET /api/v1/audit", Anyone, a.listAudit) // admins: all; others: their apps' and their own
	// People, teams, tokens.
	a.handle("GET /api/v1/users", AdminOnly, a.listUsers)
	a.handle("POST /api/v1/users", AdminOnly, a.createUser)
	a.handle("DELETE /api/v1/users/{user}", AdminOnly, a.deleteUser)
	a.handle("PUT /api/v1/users/{user}/password", Self, a.setPassword)
	a.handle("GET /api/v1/teams", Anyone, a.listTeams)
	a.handle("POST /api/v1/teams", AdminOnly, a.createTeam)
	a.handle("POST /api/v1/teams/{team}/members", AdminOnly, a.addTeamMember)
	a.handle("DELETE /api/v1/teams/{team}/members/{user}", AdminOnly, a.removeTeamMember)
	a.handle("GET /api/v1/tokens", Anyone, a.listTokens)
	a.handle("POST /api/v1/tokens", Anyone, a.createToken)
	a.handle("DELETE /api/v1/tokens/{id}", Anyone, a.revokeToken)
	a.handle("POST /api/v1/apps", Acts, a.createApp)
	a.handle("GET /api/v1/apps", Anyone, a.listApps)
	a.handle("GET /api/v1/apps/{app}", ReadsApp, a.getApp)
	a.handle("DELETE /api/v1/apps/{app}", ActsOnApp, a.deleteApp)
	a.handle("POST /api/v1/apps/{app}/deploys", ActsOnApp, a.deploy)
	a.handle("GET /api/v1/apps/{app}/deploys", ReadsApp, a.listRollouts)
	a.handle("GET /api/v1/apps/{app}/deploys/{id}", ReadsApp, a.getRollout)
	a.handle("GET /api/v1/apps/{app}/deploys/{id}/events", ReadsApp, a.rolloutEvents)
	a.handle("GET /api/v1/apps/{app}/releases", ReadsApp, a.releases)
	a.handle("GET /api/v1/apps/{app}/instances", ReadsApp, a.instances)
	a.handle("GET /api/v1/apps/{app}/logs", ReadsApp, a.logs)
	a.handle("GET /api/v1/apps/{app}/metrics", ReadsApp, a.traffic)
	a.handle("POST /api/v1/apps/{app}/rollback", ActsOnApp, a.rollback)
	a.handle("POST /api/v1/apps/{app}/scale", ActsOnApp, a.scale)
	a.handle("POST /api/v1/apps/{app}/stop", ActsOnApp, a.stop)
	a.handle("POST /api/v1/apps/{app}/start", ActsOnApp, a.start)
	a.handle("POST /api/v1/apps/{app}/hold", ActsOnApp, a.hold)
	a.handle("POST /api/v1/apps/{app}/unhold", ActsOnApp, a.unhold)
	a.handle("GET /api/v1/apps/{app}/env", ReadsApp, a.getEnv) // values with ?reveal=1: members and admins only
	a.handle("POST /api/v1/apps/{app}/env", ActsOnApp, a.setEnv)
	// Canary steps.
	a.handle("POST /api/v1/apps/{app}/promote", ActsOnApp, a.promote)
	a.handle("POST /api/v1/apps/{app}/pause", ActsOnApp, a.pauseRollout)
	a.handle("POST /api/v1/apps/{app}/resume", ActsOnApp, a.resumeRollout)
	a.handle("POST /api/v1/apps/{app}/abort", ActsOnApp, a.abort)
	// Sources and pipeline runs.
	a.handle("PATCH /api/v1/apps/{app}", ActsOnApp, a.setApp)
	a.handle("GET /api/v1/apps/{app}/webhook", ActsOnApp, a.webhookInfo) // it shows the webhook secret
	a.handle("GET /api/v1/apps/{app}/runs", ReadsApp, a.listRuns)
	a.handle("GET /api/v1/apps/{app}/runs/{n}", ReadsApp, a.getRun)
	a.handle("GET /api/v1/apps/{app}/runs/{n}/logs", ReadsApp, a.runLogs)
	a.handle("POST /api/v1/apps/{app}/runs/{n}/cancel", ActsOnApp, a.cancelRun)
	a.public("POST /hooks/{forge}/{app}", http.HandlerFunc(a.hook))                  // the forge's signature
	a.public("GET /api/v1/build-sources/{app}/{n}", http.HandlerFunc(a.buildSource)) // the build's one-time token
	if a.Metrics != nil {
		a.handle("GET /metrics", AdminOnly, a.metrics)
	}
	if a.DataDir != "" {
		a.public("/git/", a.gitHandler()) // a token as git's HTTP password, checked per app
	}
	// The dashboard: a page over this API (it holds nothing of its own).
	dashboard := web.Handler()
	a.public("GET /{$}", dashboard)
	a.public("GET /ui/", dashboard)
	a.public("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, fmt.Errorf("no such API route: %s %s: %w", r.Method, r.URL.Path, errNoRoute))
	}))
}

// ServeHTTP serves the API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// handler is an authenticated API handler.
type handler func(w http.ResponseWriter, r *http.Request, u *store.User) error

// handle registers h behind authentication and the route's access; an
// error it returns is written with the status its kind maps to.
func (a *API) handle(pattern string, access Access, h handler) {
	a.table = append(a.table, Route{Pattern: pattern, Access: access})
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		u, err := a.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="nonstop"`)
			writeError(w, err)
			return
		}
		if changes(r) {
			sw := &statusWriter{ResponseWriter: w}
			defer func() { a.audit(r, u.Name, actionOf(pattern), sw.status, sw.app, sw.target) }()
			w = sw
		}
		if err := a.allow(r, u, access); err != nil {
			writeError(w, err)
			return
		}
		if err := h(w, r, u); err != nil {
			if status(err) >= 500 {
				a.Logger.Error("api", "method", r.Method, "path", r.URL.Path, "user", u.Name, "err", err)
			}
			writeError(w, err)
		}
	})
}

// public registers a route served without a token (see Public).
func (a *API) public(pattern string, h http.Handler) {
	a.table = append(a.table, Route{Pattern: pattern, Access: Public})
	a.mux.Handle(pattern, h)
}

var (
	errUnauthorized = errors.New("unauthorized")
	errForbidden    = errors.New("forbidden")
	errBadRequest   = errors.New("bad request")
	errNoRoute      = errors.New("no route")
	errTooLarge     = errors.New("too large")
)

// status maps an error to its HTTP status, in one place.
func status(err error) int {
	var maxBytes *http.MaxBytesError
	switch {
	case errors.Is(err, errUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, errForbidden), errors.Is(err, pipeline.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, store.ErrNotFound), errors.Is(err, errNoRoute):
		return http.StatusNotFound
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, errTooMany):
		return http.StatusTooManyRequests
	case errors.As(err, &maxBytes), errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errBadRequest), errors.Is(err, rollout.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, rollout.ErrUnsupported):
		return http.StatusNotImplemented
	case errors.Is(err, context.Canceled):
		return 499
	default:
		return http.StatusInternalServerError
	}
}

func writeError(w http.ResponseWriter, err error) {
	writeJSON(w, status(err), wire.Error{Message: err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// readJSON decodes a small JSON body strictly.
func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("request body: %v: %w", err, errBadRequest)
	}
	return nil
}

// requestTimeout bounds the store work of ordinary requests.
const requestTimeout = 30 * time.Second

// health says the server answers and, as "degraded", how many rollouts
// its engine could not record the state of (the store refused a final
// state); which ones, each app's status says to those who may see it.
func (a *API) health(w http.ResponseWriter, r *http.Request) {
	out := wire.Health{Status: "ok", Version: a.Version}
	if n := len(a.Engine.Problems()); n > 0 {
		out.Status, out.Problems = "degraded", n
	}
	writeJSON(w, http.StatusOK, out)
}
