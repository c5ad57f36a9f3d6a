// Package certs provides the proxy's TLS certificates: a fixed one from
// files (e.g. a wildcard), and certificates issued on demand by an ACME
// CA (Let's Encrypt by default) through golang.org/x/crypto/acme/autocert
// for the hosts the proxy routes, cached on disk and renewed before they
// expire. It also gives the plain-HTTP listener its handler: ACME http-01
// challenges answered, HTTP→HTTPS redirects for hosts that have a
// certificate.
//
// A certificate is only ever requested for a host that is in a route and
// is a real domain: never for an IP, a name without a dot, *.localhost and
// other local names, or the hosts under the control plane's domain suffix
// (NAME.SUFFIX, which a wildcard certificate from files serves instead:
// one certificate per app would run into the CA's rate limits).
package certs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// LetsEncrypt is the default ACME directory: Let's Encrypt's production CA.
const LetsEncrypt = autocert.DefaultACMEDirectory

var (
	// ErrNotEligible is returned for a host no certificate is requested
	// for: an IP, a local name, or a host under the domain suffix.
	ErrNotEligible = errors.New("no certificate is requested for this host")
	// ErrNoRoute is returned for a host the proxy does not route.
	ErrNoRoute = errors.New("no route for this host")
)

// Config says where certificates come from.
type Config struct {
	// CertFile and KeyFile are a fixed certificate chain and its key
	// (PEM), served for the names it covers. They are read again when
	// they change on disk (checked at most every 30s).
	CertFile, KeyFile string

	// ACME issuance is on when there is no CertFile, or when Email is set
	// (then the fixed certificate serves the names it covers and ACME the
	// other routed hosts). See UsesACME.
	Email     string // contact for the ACME account; optional
	Directory string // ACME directory URL; default LetsEncrypt
	CARoots   string // PEM file of extra roots for the ACME server's HTTPS (a test CA)
	CacheDir  string // where issued certificates and the account key are kept (0700); required with ACME

	// DomainSuffix: hosts under it (NAME.SUFFIX) get no ACME certificate.
	DomainSuffix string
	Logger       *slog.Logger // nil: discard
}

// UsesACME reports whether c issues certificates by ACME.
func (c Config) UsesACME() bool { return c.CertFile == "" || c.Email != "" }

// Validate checks that c's settings go together.
func (c Config) Validate() error {
	if (c.CertFile == "") != (c.KeyFile == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.UsesACME() && c.CacheDir == "" {
		return errors.New("ACME needs a cache folder")
	}
	return nil
}

// Manager serves certificates. Its methods are safe for concurrent use.
type Manager struct {
	log       *slog.Logger
	file      *fileCert         // nil without CertFile
	acme      *autocert.Manager // nil without ACME
	challenge http.Handler      // answers http-01 challenges; nil without ACME
	routed    func(string) bool // reports whether the proxy routes a (normalised) host
	suffix    string            // normalised DomainSuffix
	now       func() time.Time
	issued    sync.Map // host → time.Time, the latest expiry served (zero if only cached): hosts with an ACME certificate
	failed    sync.Map // host → time.Time: no new attempt before then
}

// failureBackoff is how long a host whose issuance failed waits before the
// next attempt, so that a misconfigured domain does not use up the CA's
// limit on failed validations.
const failureBackoff = time.Minute

// New returns a Manager for cfg. routed reports whether the proxy has a
// route for a host (lowercase, without port); it is called on handshakes
// and must be cheap.
func New(cfg Config, routed func(host string) bool) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Manager{log: cfg.Logger, routed: routed, suffix: NormalizeHost(cfg.DomainSuffix), now: time.Now}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if cfg.CertFile != "" {
		f, err := loadFileCert(cfg.CertFile, cfg.KeyFile, m.log)
		if err != nil {
			return nil, err
		}
		m.file = f
	}
	if cfg.UsesACME() {
		if err := m.setupACME(cfg); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// TLSConfig returns the HTTPS listener's configuration: HTTP/2, and the
// tls-alpn-01 challenge when ACME is on.
func (m *Manager) TLSConfig() *tls.Config {
	protos := []string{"h2", "http/1.1"}
	if m.acme != nil {
		protos = append(protos, acme.ALPNProto)
	}
	return &tls.Config{
		GetCertificate: m.GetCertificate,
		NextProtos:     protos,
		MinVersion:     tls.VersionTLS12,
	}
}

// GetCertificate picks the certificate for a handshake: the ACME CA's
// tls-alpn-01 challenge, the fixed certificate for the names it covers
// (for every name when ACME is off), else the host's ACME certificate,
// obtained on the first handshake if the host is eligible and routed. An
// error fails the handshake.
func (m *Manager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if m.acme != nil && isChallenge(hello) {
		return m.acme.GetCertificate(hello)
	}
	name := NormalizeHost(hello.ServerName)
	if m.file != nil {
		if c := m.file.get(m.now()); m.acme == nil || name == "" || c.covers(name) {
			return c.cert, nil
		}
	}
	if err := m.policy(context.Background(), name); err != nil {
		return nil, err
	}
	if until, ok := m.failed.Load(name); ok && m.now().Before(until.(time.Time)) {
		return nil, fmt.Errorf("certificate for %s: the last attempt failed; next one after %s", name, until.(time.Time).Format(time.TimeOnly))
	}
	cert, err := m.acme.GetCertificate(hello)
	if err != nil {
		m.failed.Store(name, m.now().Add(failureBackoff))
		m.log.Warn("obtain a certificate", "host", name, "err", err, "retry_after", failureBackoff)
		return nil, err
	}
	if cert.Leaf != nil {
		// Log a new certificate once, and a renewed one (a later expiry).
		if prev, ok := m.issued.Load(name); !ok || cert.Leaf.NotAfter.After(prev.(time.Time)) {
			m.issued.Store(name, cert.Leaf.NotAfter)
			m.failed.Delete(name)
			m.log.Info("certificate ready", "host", name, "expires", cert.Leaf.NotAfter)
		}
	}
	return cert, nil
}

// HasCert reports whether host (as in a Host header) has a certificate:
// the fixed certificate covers it, or an ACME certificate was issued for
// it (in the cache at start, or since).
func (m *Manager) HasCert(host string) bool {
	host = NormalizeHost(host)
	if m.file != nil && m.file.get(m.now()).covers(host) {
		return true
	}
	_, ok := m.issued.Load(host)
	return ok
}

// NormalizeHost lowercases host and strips its port and a trailing dot.
func NormalizeHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

func isChallenge(hello *tls.ClientHelloInfo) bool {
	return len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acme.ALPNProto
}
