// Package gitserver lets users deploy with `git push`: an http.Handler for
// /git/{app}.git/... that speaks git's smart HTTP protocol by running git's
// own `git http-backend` as a CGI program (net/http/cgi).
//
// Every request is authenticated with HTTP Basic auth whose password is a
// nonstop API token (the user name is ignored); the Authorize callback
// checks the token and the user's access to the app. A missing or wrong
// token is answered 401 with a Basic challenge, so that git asks for a
// password or reports "Authentication failed"; an unknown app, or an app of
// another team, is answered 404.
//
// Pushing (receive-pack) and fetching (upload-pack: clone, fetch,
// ls-remote) are both served to authorised users: the repository holds
// nothing they could not deploy or download anyway, and fetching lets them
// check what the server holds. git's "dumb" HTTP protocol is not served.
//
// Each app's bare repository lives in Root/APP.git and is created on the
// first push. Its pre-receive hook, rewritten on every push so that it
// always names the current binary, runs `nonstop git-hook pre-receive`,
// which deploys the pushed deploy branch and accepts the push only when the
// new release is live. The hook finds what it needs in its environment:
// NONSTOP_SERVER (the API's URL), NONSTOP_TOKEN (the pusher's token),
// NONSTOP_APP and NONSTOP_BRANCH (the branch that deploys).
package gitserver

import (
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
)

// Errors the Authorize callback wraps to choose the answer.
var (
	// ErrUnauthorized: no such token. Answered 401 with a Basic challenge.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrNotFound: no such app, or not one the user may see. Answered 404.
	ErrNotFound = errors.New("not found")
	// ErrForbidden: a user who may see the app but not push to it (a
	// viewer). Answered 403.
	ErrForbidden = errors.New("forbidden")
)

// DefaultBranch is the branch that deploys when Config.Branch is nil or
// answers "".
const DefaultBranch = "main"

// Config configures a Handler.
type Config struct {
	// Root is the folder of the bare repositories (DATA/git).
	Root string
	// Authorize checks a token and the user's access to app (to push to
	// it, or to fetch from it), and returns who may. It wraps
	// ErrUnauthorized, ErrNotFound or ErrForbidden to refuse.
	Authorize func(r *http.Request, token, app string, push bool) (Grant, error)
	// Branch returns the branch of app that deploys (nil or "": "main").
	Branch func(app string) string
	// ServerURL returns the API's URL, which the hook deploys through.
	ServerURL func() string
	// HookCommand is what the pre-receive hook runs; default: this
	// executable with the arguments `git-hook pre-receive`.
	HookCommand []string
	// MaxPushBytes bounds a request body (default 1 GiB).
	MaxPushBytes int64
	Logger       *slog.Logger
}

// Handler serves /git/{app}.git/... (see the package documentation).
type Handler struct {
	cfg    Config
	git    string // path of the git executable, "" when not installed
	initMu sync.Mutex
}

// New returns a Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Root == "" || cfg.Authorize == nil || cfg.ServerURL == nil {
		return nil, errors.New("gitserver: Root, Authorize and ServerURL are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxPushBytes <= 0 {
		cfg.MaxPushBytes = 1 << 30
	}
	if len(cfg.HookCommand) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("gitserver: find this executable for the git hook: %w", err)
		}
		cfg.HookCommand = []string{exe, "git-hook", "pre-receive"}
	}
	git, _ := exec.LookPath("git")
	return &Handler{cfg: cfg, git: git}, nil
}

// appName is a DNS label, as app names are; anything else is not an app.
var appName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// request is a parsed smart-HTTP request.
type request struct {
	app     string
	rest    string // info/refs, git-receive-pack or git-upload-pack
	service string // git-receive-pack or git-upload-pack
}

// parse accepts /git/APP.git/REST and /git/APP/REST, for the smart
// protocol's three endpoints only.
func parse(r *http.Request) (request, bool) {
	p, ok := strings.CutPrefix(r.URL.Path, "/git/")
	if !ok {
		return request{}, false
	}
	for _, rest := range []string{"info/refs", "git-receive-pack", "git-upload-pack"} {
		repo, ok := strings.CutSuffix(p, "/"+rest)
		if !ok {
			continue
		}
		app := strings.TrimSuffix(repo, ".git")
		if !appName.MatchString(app) {
			return request{}, false
		}
		req := request{app: app, rest: rest, service: rest}
		if rest == "info/refs" {
			req.service = r.URL.Query().Get("service")
			if r.Method != http.MethodGet || (req.service != "git-receive-pack" && req.service != "git-upload-pack") {
				return request{}, false
			}
		} else if r.Method != http.MethodPost {
			return request{}, false
		}
		return req, true
	}
	return request{}, false
}

// ServeHTTP authenticates the request and hands it to git http-backend.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, ok := parse(r)
	if !ok {
		http.Error(w, "not a git smart-HTTP request: use git, e.g. git push http://HOST/git/APP.git main", http.StatusNotFound)
		return
	}
	_, token, ok := r.BasicAuth()
	if !ok || token == "" {
		challenge(w, "authentication required: use a nonstop API token as the password")
		return
	}
	grant, err := h.cfg.Authorize(r, token, req.app, req.service == "git-receive-pack")
	switch {
	case errors.Is(err, ErrUnauthorized):
		challenge(w, "invalid token")
		return
	case errors.Is(err, ErrNotFound):
		http.Error(w, fmt.Sprintf("app %q not found", req.app), http.StatusNotFound)
		return
	case errors.Is(err, ErrForbidden):
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	case err != nil:
		h.cfg.Logger.Error("git: authorize", "app", req.app, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if h.git == "" {
		http.Error(w, "git is not installed on the nonstop server", http.StatusServiceUnavailable)
		return
	}
	dir := h.repoDir(req.app)
	if req.service == "git-receive-pack" {
		if err := h.ensureRepo(req.app); err != nil {
			h.cfg.Logger.Error("git: prepare repository", "app", req.app, "err", err)
			http.Error(w, "internal error: prepare the repository", http.StatusInternalServerError)
			return
		}
	} else if _, err := os.Stat(dir); err != nil {
		http.Error(w, fmt.Sprintf("app %q has no git repository yet: push to it first", req.app), http.StatusNotFound)
		return
	}
	h.backend(w, r, req, grant, token)
}

// Grant is who Authorize let through, and what the hook should tell them
// first (as `remote:` lines), e.g. that the push created the app.
type Grant struct {
	User   string
	Notice string
}

func challenge(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="nonstop"`)
	http.Error(w, msg, http.StatusUnauthorized)
}

func (h *Handler) branch(app string) string {
	if h.cfg.Branch != nil {
		if b := h.cfg.Branch(app); b != "" {
			return b
		}
	}
	return DefaultBranch
}

// backend runs git http-backend for one request, with the hook's
// environment, and streams its answer as it comes (the hook's progress).
func (h *Handler) backend(w http.ResponseWriter, r *http.Request, req request, grant Grant, token string) {
	cr := r.Clone(r.Context())
	cr.URL.Path = "/git/" + req.app + ".git/" + req.rest
	cr.URL.RawPath = ""
	cr.Header.Del("Authorization") // the token reaches the hook as NONSTOP_TOKEN only
	cr.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxPushBytes)
	if len(cr.TransferEncoding) > 0 {
		// net/http/cgi refuses chunked bodies, which git sends for
		// large packs; http-backend reads to EOF without CONTENT_LENGTH.
		cr.TransferEncoding = nil
		cr.ContentLength = -1
	}
	backend := &cgi.Handler{
		Path: h.git,
		Args: []string{"http-backend"},
		Dir:  h.cfg.Root,
		Root: "/git",
		Env: []string{
			"GIT_PROJECT_ROOT=" + h.cfg.Root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1", // the server's repositories follow their own config only
			"REMOTE_USER=" + grant.User,
			"NONSTOP_SERVER=" + h.cfg.ServerURL(),
			"NONSTOP_TOKEN=" + token,
			"NONSTOP_APP=" + req.app,
			"NONSTOP_BRANCH=" + h.branch(req.app),
			"NONSTOP_NOTICE=" + grant.Notice,
		},
		InheritEnv: []string{"TMPDIR"},
		Logger:     log.New(slogWriter{h.cfg.Logger}, "", 0),
		Stderr:     slogWriter{h.cfg.Logger},
	}
	backend.ServeHTTP(flushWriter{w}, cr)
}

// flushWriter sends each write at once, so that the hook's output reaches
// git as `remote:` lines while the rollout runs. It hides the ResponseWriter's
// ReadFrom, which would buffer.
type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Header() http.Header  { return f.w.Header() }
func (f flushWriter) WriteHeader(code int) { f.w.WriteHeader(code) }
func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		err = http.NewResponseController(f.w).Flush()
	}
	return n, err
}

// slogWriter logs what git http-backend writes to its stderr.
type slogWriter struct{ log *slog.Logger }

func (s slogWriter) Write(p []byte) (int, error) {
	if msg := strings.TrimSpace(string(p)); msg != "" {
		s.log.Warn("git http-backend", "msg", msg)
	}
	return len(p), nil
}
