package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// setupACME makes the autocert manager, its cache folder and its ACME
// client, and notes the hosts whose certificates are already cached.
func (m *Manager) setupACME(cfg Config) error {
	if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
		return fmt.Errorf("certificate cache: %w", err)
	}
	if err := os.Chmod(cfg.CacheDir, 0o700); err != nil {
		return fmt.Errorf("certificate cache: %w", err)
	}
	dir := cfg.Directory
	if dir == "" {
		dir = LetsEncrypt
	}
	client := &acme.Client{DirectoryURL: dir, UserAgent: "nonstop"}
	if cfg.CARoots != "" {
		hc, err := clientTrusting(cfg.CARoots)
		if err != nil {
			return err
		}
		client.HTTPClient = hc
	}
	m.acme = &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(cfg.CacheDir),
		HostPolicy: m.policy,
		Client:     client,
		Email:      cfg.Email,
	}
	// Calling HTTPHandler turns http-01 on (after tls-alpn-01).
	m.challenge = m.acme.HTTPHandler(http.NotFoundHandler())
	m.noteCached(cfg.CacheDir)
	return nil
}

// policy is autocert's HostPolicy: an eligible host the proxy routes.
func (m *Manager) policy(_ context.Context, host string) error {
	host = NormalizeHost(host)
	if !m.eligible(host) {
		return fmt.Errorf("%s: %w", host, ErrNotEligible)
	}
	if !m.routed(host) {
		return fmt.Errorf("%s: %w", host, ErrNoRoute)
	}
	return nil
}

// localSuffixes are names no public CA certifies (RFC 6761, 6762, 8375
// and ICANN's .internal).
var localSuffixes = []string{".localhost", ".local", ".internal", ".home.arpa", ".invalid"}

// eligible reports whether an ACME certificate may be requested for host
// (normalised): a domain name with a dot, not local, not under the domain
// suffix, not covered by the fixed certificate.
func (m *Manager) eligible(host string) bool {
	if host == "" || !strings.Contains(host, ".") || net.ParseIP(host) != nil || strings.ContainsAny(host, "/\\:*+ ") {
		return false
	}
	for _, s := range localSuffixes {
		if strings.HasSuffix(host, s) || host == s[1:] {
			return false
		}
	}
	if m.suffix != "" && (host == m.suffix || strings.HasSuffix(host, "."+m.suffix)) {
		return false
	}
	if m.file != nil && m.file.get(m.now()).covers(host) {
		return false
	}
	return true
}

// noteCached records the hosts that have a certificate in the cache, so
// that redirects to HTTPS work for them from the start. autocert names a
// certificate's file after its host ("+rsa" for an RSA one); its other
// files have other "+" suffixes.
func (m *Manager) noteCached(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		host := strings.TrimSuffix(e.Name(), "+rsa")
		if e.Type().IsRegular() && !strings.Contains(host, "+") && m.eligible(host) {
			m.issued.Store(host, time.Time{})
		}
	}
}

// clientTrusting returns an HTTP client for the ACME server that trusts
// the system roots and those in the PEM file at path.
func clientTrusting(path string) (*http.Client, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ACME CA roots: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ACME CA roots: no PEM certificate in %s", path)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: time.Minute}, nil
}
