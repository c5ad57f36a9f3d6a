package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/nonstopdev/nonstop/internal/auth"
	"github.com/nonstopdev/nonstop/internal/pipeline"
	"github.com/nonstopdev/nonstop/internal/source/webhook"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/wire"
)

// hook takes a forge's push webhook: checked with the app's webhook secret
// in the forge's own scheme (it is the authentication: no token), then
// answered at once; the run it queues fetches and deploys in the background.
func (a *API) hook(w http.ResponseWriter, r *http.Request) {
	err := a.takeHook(w, r)
	if err != nil {
		writeError(w, err)
	}
}

func (a *API) takeHook(w http.ResponseWriter, r *http.Request) error {
	forge, err := webhook.ParseForge(r.PathValue("forge"))
	if err != nil {
		return fmt.Errorf("%v: %w", err, errNoRoute)
	}
	// Unauthenticated until the signature is checked: a bounded body, read
	// in bounded time.
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(30 * time.Second))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 5<<20))
	if err != nil {
		return fmt.Errorf("webhook body: %w", err)
	}
	// An unknown app, an app without a secret and a bad signature answer
	// alike, so that a webhook tells nobody which apps exist; the log
	// says which it was.
	refused := fmt.Errorf("webhook: the signature does not verify with this app's webhook secret (nonstop apps webhook APP): %w", errUnauthorized)
	app, err := a.Store.App(r.Context(), r.PathValue("app"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		webhook.Verify(forge, r.Header, body, decoySecret) // the same work as for an app
		a.Logger.Warn("webhook refused: no such app", "app", r.PathValue("app"), "forge", forge)
		return refused
	case err != nil:
		return err
	case app.WebhookSecret == "":
		a.Logger.Warn("webhook refused: the app has no webhook secret yet (nonstop apps webhook APP)", "app", app.Name, "forge", forge)
		return refused
	}
	if err := webhook.Verify(forge, r.Header, body, app.WebhookSecret); err != nil {
		a.Logger.Warn("webhook refused", "app", app.Name, "forge", forge, "err", err)
		return refused
	}
	ev, err := webhook.Parse(forge, r.Header, body)
	if err != nil {
		return fmt.Errorf("webhook: %v: %w", err, errBadRequest)
	}
	answer := func(code int, result string, run *store.Run) error {
		out := wire.HookResult{Result: result}
		if run != nil {
			out.Run = run.Number
		}
		writeJSON(w, code, out)
		return nil
	}
	switch {
	case ev.Kind == webhook.Ping:
		return answer(http.StatusOK, "pong", nil)
	case ev.Kind != webhook.Push:
		return answer(http.StatusAccepted, "ignored: not a push", nil)
	case ev.Deleted:
		return answer(http.StatusAccepted, "ignored: branch deleted", nil)
	case ev.Branch == "":
		return answer(http.StatusAccepted, fmt.Sprintf("ignored: %q is not a branch", ev.Ref), nil)
	case ev.Branch != app.Source.Branch:
		return answer(http.StatusAccepted, fmt.Sprintf("ignored: a push to %q, the app deploys %q", ev.Ref, app.Source.Branch), nil)
	case app.Source.Repo == "":
		return fmt.Errorf("app %s has no repository (nonstop apps set %s --repo URL): %w", app.Name, app.Name, store.ErrConflict)
	case !ev.MatchesRepo(app.Source.Repo):
		return fmt.Errorf("the payload's repository is not app %s's: %w", app.Name, errBadRequest)
	}
	// A replayed push (a signed payload sent again, with no delivery id
	// or another one) does not deploy again: one push of a ref at a commit
	// is taken once, and a push of what is live already does nothing.
	if ev.Commit != "" {
		live, err := a.Store.LiveCommit(r.Context(), app.ID)
		if err != nil {
			return err
		}
		if live != "" && (strings.HasPrefix(live, ev.Commit) || strings.HasPrefix(ev.Commit, live)) {
			a.Logger.Info("webhook push not newer than live", "app", app.Name, "commit", ev.Commit)
			return answer(http.StatusOK, fmt.Sprintf("not newer than live: %.12s is live", ev.Commit), nil)
		}
		fresh, err := a.Store.RecordDelivery(r.Context(), app.ID, "push", ev.Ref+" "+ev.Commit)
		if err != nil {
			return err
		}
		if !fresh {
			a.Logger.Info("webhook push already taken", "app", app.Name, "ref", ev.Ref, "commit", ev.Commit)
			return answer(http.StatusOK, fmt.Sprintf("already seen: a push of %s at %.12s", ev.Ref, ev.Commit), nil)
		}
	}
	if ev.Delivery != "" {
		fresh, err := a.Store.RecordDelivery(r.Context(), app.ID, string(forge), ev.Delivery)
		if err != nil {
			return err
		}
		if !fresh {
			return answer(http.StatusOK, "already seen: delivery "+ev.Delivery, nil)
		}
	}
	by := string(forge) + " webhook"
	if ev.Pusher != "" {
		by += " (" + ev.Pusher + ")"
	}
	run, err := a.Pipeline.Enqueue(r.Context(), pipeline.Request{App: app, Trigger: "webhook", Repo: app.Source.Repo, Ref: ev.Ref, Commit: ev.Commit, StartedBy: by})
	if err != nil {
		return err
	}
	return answer(http.StatusAccepted, "queued", run)
}

// webhookInfo answers the app's webhook URLs and secret, making the secret
// at first ask (or anew with ?rotate=1).
func (a *API) webhookInfo(w http.ResponseWriter, r *http.Request, u *store.User) error {
	app, err := a.app(r, u)
	if err != nil {
		return err
	}
	if app.WebhookSecret == "" || r.URL.Query().Get("rotate") == "1" {
		b := make([]byte, 24)
		rand.Read(b)
		app.WebhookSecret = hex.EncodeToString(b)
		if err := a.Store.SetWebhookSecret(r.Context(), app.ID, app.WebhookSecret); err != nil {
			return err
		}
	}
	base := "http://" + r.Host
	info := wire.WebhookInfo{URLs: map[string]string{}, Secret: app.WebhookSecret}
	for _, f := range []string{"github", "gitlab", "gitea", "generic"} {
		info.URLs[f] = base + "/hooks/" + f + "/" + app.Name
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

// setApp changes where an app's code comes from and its domains.
func (a *API) setApp(w http.ResponseWriter, r *http.Request, u *store.User) error {
	app, err := a.app(r, u)
	if err != nil {
		return err
	}
	var req wire.AppSettings
	if err := readJSON(r, &req); err != nil {
		return err
	}
	src := app.Source
	if req.Repo != nil {
		src.Repo = strings.TrimSpace(*req.Repo)
		if src.Repo != "" {
			if err := checkRepo(r.Context(), src.Repo, u.Role == store.RoleAdmin); err != nil {
				return err
			}
		}
	}
	if req.Branch != nil {
		if b := strings.TrimSpace(*req.Branch); b == "" || strings.ContainsAny(b, " ~^:?*[\\") || strings.HasPrefix(b, "-") {
			return fmt.Errorf("branch %q is not a branch name: %w", *req.Branch, errBadRequest)
		}
		src.Branch = strings.TrimSpace(*req.Branch)
	}
	if req.Poll != nil {
		d := time.Duration(0)
		if *req.Poll != "" && *req.Poll != "0" && *req.Poll != "off" {
			if d, err = time.ParseDuration(*req.Poll); err != nil || d < 5*time.Second {
				return fmt.Errorf("poll %q: want a duration of at least 5s, or off: %w", *req.Poll, errBadRequest)
			}
		}
		src.Poll = d
	}
	if src.Poll > 0 && src.Repo == "" {
		return fmt.Errorf("polling needs a repo: %w", errBadRequest)
	}
	// The domains are checked before anything is changed.
	var domains []string
	if req.Domains != nil {
		var err error
		if domains, err = a.domainsFor(r, u, app.Name, *req.Domains); err != nil {
			return err
		}
	}
	if err := a.Store.SetAppSource(r.Context(), app.ID, src); err != nil {
		return err
	}
	if req.Domains != nil {
		if err := a.Store.SetAppDomains(r.Context(), app.Name, domains); err != nil {
			return err
		}
		if err := a.Engine.SyncRoutes(r.Context()); err != nil {
			return err
		}
	}
	app, err = a.Store.App(r.Context(), app.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wireAppView(a.appView(app)))
	return nil
}

// scpRepoRE is the scp-like form of an ssh repository: user@host:path.
var scpRepoRE = regexp.MustCompile(`^[A-Za-z0-9._-]+@([A-Za-z0-9.-]+):[A-Za-z0-9._/~-]+$`)

// checkRepo accepts a repository URL that git fetches as a repository and
// nothing else (never an option, never a command transport). file:// URLs
// reach the server's own disk, so only admins may set them.
func checkRepo(ctx context.Context, u string, admin bool) error {
	if strings.HasPrefix(u, "-") || strings.ContainsAny(u, " \t\r\n") {
		return fmt.Errorf("repo %q is not a repository URL: %w", u, errBadRequest)
	}
	host := ""
	if m := scpRepoRE.FindStringSubmatch(u); m != nil {
		host = m[1]
	}
	parsed, err := url.Parse(u)
	if err == nil && parsed.Host != "" {
		host = parsed.Hostname()
	}
	if host != "" && !admin && onThisMachine(ctx, host) {
		// git's errors would let a member probe nonstop's own services.
		return fmt.Errorf("repo %q is on this machine (%s): only an admin may fetch from loopback or link-local addresses: %w", u, host, errBadRequest)
	}
	switch {
	case err == nil && (parsed.Scheme == "https" || parsed.Scheme == "http" || parsed.Scheme == "ssh" || parsed.Scheme == "git") && parsed.Host != "":
		return nil
	case err == nil && parsed.Scheme == "file" && parsed.Host == "" && strings.HasPrefix(parsed.Path, "/"):
		if !admin {
			return fmt.Errorf("repo %q: file:// repositories are on nonstop's own disk: only an admin may use them: %w", u, errBadRequest)
		}
		return nil
	case scpRepoRE.MatchString(u):
		return nil
	}
	return fmt.Errorf("repo %q: want an https://, http://, ssh://, git:// or user@host:path URL: %w", u, errBadRequest)
}

// onThisMachine reports whether host is, or resolves to, a loopback,
// unspecified or link-local address (the cloud's metadata service among
// them).
func onThisMachine(ctx context.Context, host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	var ips []net.IP
	if ip := net.ParseIP(strings.Trim(h, "[]")); ip != nil {
		ips = append(ips, ip)
	} else {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		addrs, _ := net.DefaultResolver.LookupIPAddr(ctx, h)
		for _, a := range addrs {
			ips = append(ips, a.IP)
		}
	}
	for _, ip := range ips {
		if ip.IsLoopback() || ip.IsUnspecified() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() {
			return true
		}
	}
	return false
}

// decoySecret is what a webhook to an unknown app is checked against.
var decoySecret = auth.NewToken()
