package certs

import (
	"net"
	"net/http"
	"strings"
)

const challengePrefix = "/.well-known/acme-challenge/"

// HTTPHandler returns the handler for the plain-HTTP listener. It answers
// ACME http-01 challenges for the hosts the Manager issues certificates
// for (never redirected), redirects with 308 to HTTPS the requests for
// hosts that have a certificate when redirect is set, and hands every
// other request to next. httpsPort is the HTTPS listener's port, written
// in the redirect's URL unless it is 443.
func (m *Manager) HTTPHandler(next http.Handler, redirect bool, httpsPort string) http.Handler {
	if m.challenge == nil && !redirect {
		return next
	}
	h := &httpHandler{m: m, next: next, redirect: redirect}
	if httpsPort != "" && httpsPort != "443" {
		h.port = ":" + httpsPort
	}
	return h
}

type httpHandler struct {
	m        *Manager
	next     http.Handler
	redirect bool
	port     string // ":PORT" in redirects, or ""
}

func (h *httpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.m.challenge != nil && strings.HasPrefix(r.URL.Path, challengePrefix) && h.m.policy(r.Context(), r.Host) == nil {
		h.m.challenge.ServeHTTP(w, r)
		return
	}
	if h.redirect && h.m.HasCert(r.Host) {
		host := r.Host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		http.Redirect(w, r, "https://"+host+h.port+r.URL.RequestURI(), http.StatusPermanentRedirect)
		return
	}
	h.next.ServeHTTP(w, r)
}
