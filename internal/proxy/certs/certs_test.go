package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for names and its key to
// dir, and returns their paths.
func writeCert(t *testing.T, dir string, names ...string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func routes(hosts ...string) func(string) bool {
	set := map[string]bool{}
	for _, h := range hosts {
		set[h] = true
	}
	return func(h string) bool { return set[NormalizeHost(h)] }
}

func hello(name string) *tls.ClientHelloInfo { return &tls.ClientHelloInfo{ServerName: name} }

func TestPolicy_OnlyRoutedRealDomains(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir, "*.wild.example.com")
	m, err := New(Config{
		CertFile: cert, KeyFile: key, Email: "ops@example.com",
		Directory: "https://127.0.0.1:1/dir", CacheDir: filepath.Join(dir, "cache"), DomainSuffix: "apps.example.com",
	}, routes("shop.example.com", "app.localhost", "localhost", "10.0.0.1", "a.apps.example.com", "x.wild.example.com", "intranet", "db.internal"))
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]error{
		"shop.example.com":      nil,
		"SHOP.example.com.:443": nil,
		"other.example.com":     ErrNoRoute,
		"app.localhost":         ErrNotEligible,
		"localhost":             ErrNotEligible,
		"10.0.0.1":              ErrNotEligible,
		"intranet":              ErrNotEligible,
		"db.internal":           ErrNotEligible,
		"a.apps.example.com":    ErrNotEligible, // under the domain suffix
		"x.wild.example.com":    ErrNotEligible, // the fixed certificate covers it
	} {
		if err := m.policy(t.Context(), host); !errors.Is(err, want) {
			t.Errorf("policy(%q) = %v, want %v", host, err, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "cache")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("cache folder: %v, %v; want mode 0700", fi, err)
	}
}

func TestGetCertificate_FixedCertificateForItsNamesNoneForUnknownHosts(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir, "*.wild.example.com", "wild.example.com")
	m, err := New(Config{CertFile: cert, KeyFile: key, Email: "ops@example.com", Directory: "https://127.0.0.1:1/dir", CacheDir: dir},
		routes("x.wild.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"x.wild.example.com", "wild.example.com", ""} {
		c, err := m.GetCertificate(hello(name))
		if err != nil || c.Leaf.DNSNames[0] != "*.wild.example.com" {
			t.Errorf("GetCertificate(%q) = %v, %v; want the fixed certificate", name, c, err)
		}
	}
	// Neither routed nor covered: refused before the CA is asked.
	for _, name := range []string{"a.b.wild.example.com", "unknown.example.com", "app.localhost"} {
		if _, err := m.GetCertificate(hello(name)); err == nil {
			t.Errorf("GetCertificate(%q) gave a certificate", name)
		}
	}

	// Without ACME, the fixed certificate is served for every name: the
	// client decides.
	m, err = New(Config{CertFile: cert, KeyFile: key}, routes())
	if err != nil {
		t.Fatal(err)
	}
	if c, err := m.GetCertificate(hello("unknown.example.com")); err != nil || c == nil {
		t.Errorf("without ACME: %v, %v", c, err)
	}
}

func TestFileCert_ReloadedWhenItsFilesChange(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir, "old.example.com")
	m, err := New(Config{CertFile: cert, KeyFile: key}, routes())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	m.now = func() time.Time { return now }
	writeCert(t, dir, "new.example.com")
	later := time.Now().Add(time.Minute)
	for _, f := range []string{cert, key} {
		os.Chtimes(f, later, later)
	}
	if c, _ := m.GetCertificate(hello("x")); c.Leaf.DNSNames[0] != "old.example.com" {
		t.Fatalf("reloaded before %s: %v", reloadEvery, c.Leaf.DNSNames)
	}
	now = now.Add(reloadEvery + time.Second)
	if c, _ := m.GetCertificate(hello("x")); c.Leaf.DNSNames[0] != "new.example.com" {
		t.Fatalf("not reloaded after the files changed: %v", c.Leaf.DNSNames)
	}
	if !m.HasCert("new.example.com") || m.HasCert("old.example.com") {
		t.Error("HasCert does not follow the reloaded certificate")
	}

	// A broken new version keeps the previous one.
	os.WriteFile(cert, []byte("garbage"), 0o600)
	os.Chtimes(cert, later.Add(time.Minute), later.Add(time.Minute))
	now = now.Add(reloadEvery + time.Second)
	if c, _ := m.GetCertificate(hello("x")); c == nil || c.Leaf.DNSNames[0] != "new.example.com" {
		t.Fatalf("a broken file replaced the certificate: %v", c)
	}
}

func TestHTTPHandler_RedirectsHostsWithACertificateAndAnswersChallenges(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir, "*.wild.example.com")
	m, err := New(Config{CertFile: cert, KeyFile: key, Email: "ops@example.com", Directory: "https://127.0.0.1:1/dir", CacheDir: filepath.Join(dir, "cache")},
		routes("x.wild.example.com", "shop.example.com", "app.localhost"))
	if err != nil {
		t.Fatal(err)
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := m.HTTPHandler(next, true, "8443")
	check := func(method, host, target string, wantCode int, wantLoc string) {
		t.Helper()
		w := httptest.NewRecorder()
		r := httptest.NewRequest(method, target, nil)
		r.Host = host
		h.ServeHTTP(w, r)
		if w.Code != wantCode || w.Header().Get("Location") != wantLoc {
			t.Errorf("%s http://%s%s: %d %q; want %d %q", method, host, target, w.Code, w.Header().Get("Location"), wantCode, wantLoc)
		}
	}
	check("POST", "x.wild.example.com:8080", "/a/b?c=d", http.StatusPermanentRedirect, "https://x.wild.example.com:8443/a/b?c=d")
	check("GET", "shop.example.com", "/", http.StatusTeapot, "") // no certificate yet
	check("GET", "app.localhost", "/", http.StatusTeapot, "")
	// A challenge for a host ACME serves is answered by autocert (no such
	// token here), not redirected nor proxied; other hosts' go to the app.
	check("GET", "shop.example.com", "/.well-known/acme-challenge/tok", http.StatusNotFound, "")
	check("GET", "app.localhost", "/.well-known/acme-challenge/tok", http.StatusTeapot, "")

	m.issued.Store("shop.example.com", time.Time{})
	check("GET", "shop.example.com", "/x", http.StatusPermanentRedirect, "https://shop.example.com:8443/x")
	check("GET", "shop.example.com", "/.well-known/acme-challenge/tok", http.StatusNotFound, "")

	h = m.HTTPHandler(next, true, "443")
	check("GET", "shop.example.com:80", "/x", http.StatusPermanentRedirect, "https://shop.example.com/x")
}

func TestNoteCached_HostsWithACachedCertificateHaveOne(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"shop.example.com", "legacy.example.com+rsa", "acme_account+key", "shop.example.com+token", "abc+http-01", "app.localhost"} {
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600)
	}
	m, err := New(Config{CacheDir: dir, Directory: "https://127.0.0.1:1/dir"}, routes())
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{"shop.example.com": true, "legacy.example.com": true, "acme_account": false, "abc": false, "app.localhost": false} {
		if got := m.HasCert(host); got != want {
			t.Errorf("HasCert(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestGetCertificate_FailedIssuanceIsNotRetriedForAMinute(t *testing.T) {
	m, err := New(Config{Directory: "https://127.0.0.1:1/dir", CacheDir: t.TempDir()}, routes("shop.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	m.now = func() time.Time { return now }
	if _, err := m.GetCertificate(hello("shop.example.com")); err == nil {
		t.Fatal("a certificate from an unreachable CA")
	}
	_, err = m.GetCertificate(hello("shop.example.com"))
	if err == nil || !strings.Contains(err.Error(), "the last attempt failed") {
		t.Fatalf("second attempt at once: %v, want the backoff", err)
	}
	now = now.Add(failureBackoff + time.Second)
	if _, err := m.GetCertificate(hello("shop.example.com")); err == nil || strings.Contains(err.Error(), "the last attempt failed") {
		t.Fatalf("attempt after the backoff: %v, want a new try", err)
	}
}
