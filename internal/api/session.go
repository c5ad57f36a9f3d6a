package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nonstopdev/nonstop/internal/auth"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/wire"
)

// The dashboard logs in with a name and a password into a session: an
// HttpOnly, SameSite=Strict cookie (Secure under HTTPS), kept in the store
// as a hash, with a CSRF token that every state-changing request of the
// session must carry in X-CSRF-Token. Failed logins are limited per
// account and per address.

const (
	sessionCookie = "nonstop_session"
	csrfHeader    = "X-CSRF-Token"
	sessionLife   = 12 * time.Hour
	// loginTries failed logins within loginWindow refuse an account (or
	// an address) until the oldest leaves the window.
	loginTries  = 5
	loginWindow = 15 * time.Minute
)

var errTooMany = errors.New("too many requests")

// login checks a name and password and opens a session.
func (a *API) login(w http.ResponseWriter, r *http.Request) {
	if err := a.openSession(w, r); err != nil {
		writeError(w, err)
	}
}

func (a *API) openSession(w http.ResponseWriter, r *http.Request) error {
	// JSON only: a cross-site form (which a browser sends without asking)
	// cannot log a visitor in to someone else's account.
	if ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); strings.TrimSpace(ct) != "application/json" {
		return fmt.Errorf("login: send the name and password as application/json: %w", errBadRequest)
	}
	var req wire.LoginRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	keys := []string{"user:" + req.Name, "addr:" + remoteHost(r)}
	for _, k := range keys {
		if wait := a.logins.wait(k); wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			return fmt.Errorf("too many failed logins: try again in %s: %w", wait.Round(time.Second), errTooMany)
		}
	}
	hash, err := a.Store.PasswordHash(r.Context(), req.Name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if hash == "" {
		hash = decoyHash // the same work for a name that does not exist
	}
	if !auth.CheckPassword(hash, req.Password) || hash == decoyHash {
		for _, k := range keys {
			a.logins.fail(k)
		}
		a.Logger.Warn("failed login", "user", req.Name, "addr", remoteHost(r))
		a.audit(r, req.Name, "login", http.StatusUnauthorized, "", "")
		return fmt.Errorf("wrong name or password: %w", errUnauthorized)
	}
	a.logins.reset(keys[0])
	u, err := a.Store.UserByName(r.Context(), req.Name)
	if err != nil {
		return err
	}
	secret, csrf := auth.NewToken(), auth.NewToken()
	expires := time.Now().Add(sessionLife)
	if err := a.Store.CreateSession(r.Context(), u.ID, auth.Hash(secret), csrf, expires); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: secret, Path: "/", Expires: expires,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	a.Logger.Info("login", "user", u.Name, "addr", remoteHost(r))
	a.audit(r, u.Name, "login", http.StatusOK, "", "")
	writeJSON(w, http.StatusOK, wire.Session{Name: u.Name, Role: string(u.Role), CSRF: csrf})
	return nil
}

// decoyHash is checked when a name has no password, so that a wrong name
// costs what a wrong password does.
var decoyHash = func() string {
	h, err := auth.HashPassword("no password matches this one")
	if err != nil {
		panic(err)
	}
	return h
}()

// logout ends the caller's session, if it has one.
func (a *API) logout(w http.ResponseWriter, r *http.Request, u *store.User) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := a.Store.DeleteSession(r.Context(), auth.Hash(c.Value)); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	writeJSON(w, http.StatusOK, wire.Result{Result: "logged out"})
	return nil
}

// sessionUser is the user of a request's session cookie; a request that
// changes anything must carry the session's CSRF token. ok is false when
// the request has no session cookie.
func (a *API) sessionUser(ctx context.Context, r *http.Request) (u *store.User, ok bool, err error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, false, nil
	}
	s, err := a.Store.SessionByHash(ctx, auth.Hash(c.Value))
	if errors.Is(err, store.ErrNotFound) {
		return nil, true, fmt.Errorf("the session has ended: log in again: %w", errUnauthorized)
	}
	if err != nil {
		return nil, true, err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		if got := r.Header.Get(csrfHeader); subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) != 1 {
			return nil, true, fmt.Errorf("missing or wrong %s header: a session's changes carry the token its login answered: %w", csrfHeader, errForbidden)
		}
	}
	return s.User, true, nil
}

// remoteHost is the address a request came from, without its port.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
