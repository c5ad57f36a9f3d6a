package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"

	"github.com/nonstopdev/nonstop/internal/auth"
	"github.com/nonstopdev/nonstop/internal/source/gitserver"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

// gitHandler serves `git push` on /git/{app}.git (see package gitserver):
// repositories in DataDir/git, the token checked as on every API route.
func (a *API) gitHandler() http.Handler {
	h, err := gitserver.New(gitserver.Config{
		Root:      filepath.Join(a.DataDir, "git"),
		Authorize: a.authorizeGit,
		Branch:    a.gitBranch,
		ServerURL: func() string { return localURL(a.APIURL) },
		Logger:    a.Logger,
	})
	if err != nil {
		a.Logger.Error("git push is off", "err", err)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "git push is not available on this server", http.StatusServiceUnavailable)
		})
	}
	return h
}

// authorizeGit is gitserver's Authorize: the token's user, if it may see
// the app (a fetch) or act on it (a push, which deploys); another team's
// app is not found, as on the API.
func (a *API) authorizeGit(r *http.Request, token, name string, push bool) (gitserver.Grant, error) {
	u, err := a.Store.UserByTokenHash(r.Context(), auth.Hash(token))
	if errors.Is(err, store.ErrNotFound) {
		return gitserver.Grant{}, fmt.Errorf("invalid token: %w", gitserver.ErrUnauthorized)
	}
	if err != nil {
		return gitserver.Grant{}, err
	}
	app, err := a.Store.App(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) && push && u.Role.CanAct() {
		return a.createByPush(r, u, name)
	}
	if errors.Is(err, store.ErrNotFound) || (err == nil && !u.CanAccess(app.TeamID)) {
		return gitserver.Grant{}, fmt.Errorf("app %q: %w", name, gitserver.ErrNotFound)
	}
	if err != nil {
		return gitserver.Grant{}, err
	}
	if push && !u.Role.CanAct() {
		return gitserver.Grant{}, fmt.Errorf("%s is a viewer of app %s: viewers may fetch, not push: %w", u.Name, name, gitserver.ErrForbidden)
	}
	g := gitserver.Grant{User: u.Name}
	if push {
		if n, ok := a.pushNotices.LoadAndDelete(name); ok {
			g.Notice = n.(string)
		}
	}
	return g, nil
}

// createByPush creates the app a member's or an admin's first push names,
// in their first team, and keeps what to tell them for the push's hook
// (git asks twice: the refs, then the push itself).
func (a *API) createByPush(r *http.Request, u *store.User, name string) (gitserver.Grant, error) {
	if err := spec.ValidName(name); err != nil {
		return gitserver.Grant{}, fmt.Errorf("app %q: %v: %w", name, err, gitserver.ErrNotFound)
	}
	if len(u.Teams) == 0 {
		return gitserver.Grant{}, fmt.Errorf("%s belongs to no team, so cannot own app %s: %w", u.Name, name, gitserver.ErrForbidden)
	}
	app, err := a.Store.CreateApp(r.Context(), name, u.Teams[0], nil)
	if err != nil {
		return gitserver.Grant{}, err
	}
	team := fmt.Sprint(app.TeamID)
	if teams, err := a.Store.Teams(r.Context()); err == nil {
		for _, t := range teams {
			if t.ID == app.TeamID {
				team = t.Name
			}
		}
	}
	a.audit(r, u.Name, "app create", http.StatusCreated, name, "git push")
	a.Logger.Info("app created by its first git push", "app", name, "user", u.Name, "team", team)
	notice := fmt.Sprintf("created app %s in team %s: this push is its first deploy", name, team)
	a.pushNotices.Store(name, notice)
	return gitserver.Grant{User: u.Name, Notice: notice}, nil
}

// gitBranch is the app's deploy branch (`nonstop apps set APP --branch B`).
func (a *API) gitBranch(name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	if app, err := a.Store.App(ctx, name); err == nil && app.Source.Branch != "" {
		return app.Source.Branch
	}
	return gitserver.DefaultBranch
}

// localURL turns an API URL on an unspecified address (0.0.0.0, ::) into
// one on loopback, which the hook, on the same machine, can reach.
func localURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return raw
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		loop := "127.0.0.1"
		if ip.To4() == nil {
			loop = "::1"
		}
		u.Host = net.JoinHostPort(loop, port)
	}
	return u.String()
}
