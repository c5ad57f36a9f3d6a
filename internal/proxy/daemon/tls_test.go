package daemon

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/proxy/certs"
)

// pebbleVersion is the Pebble that scripts/deps.sh installs and these
// tests were written against.
const pebbleVersion = "v2.10.1"

// The ACME tests run a real ACME CA on loopback: Pebble, with
// pebble-challtestsrv as its DNS server answering 127.0.0.1 for every
// name, so that its validation really connects to the proxy under test.
// Which challenge a test exercises is chosen by the ports Pebble validates
// on: the other one points at a closed port, so that challenge cannot
// pass (autocert tries tls-alpn-01 first, then http-01).

func TestHTTPS_ACMEIssuesOnDemandOverTLSALPN01AndServesHTTP2(t *testing.T) {
	httpLn, httpsLn := listenLoopback(t), listenLoopback(t)
	ca := startPebble(t, freePort(t), portOf(t, httpsLn)) // tls-alpn-01 only
	data := t.TempDir()
	d := startTLSDaemon(t, data, httpLn, httpsLn, true, certs.Config{Email: "ops@example.test", Directory: ca.directory, CARoots: ca.caRoots, DomainSuffix: "localhost"})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "shop over %s", r.Header.Get("X-Forwarded-Proto"))
	}))
	t.Cleanup(backend.Close)
	setRoute(t, d.ctl, proxy.Route{App: "shop", Hosts: []string{"shop.example.test", "shop.localhost"}, Backends: []proxy.Backend{{ID: "b1", Addr: backend.Listener.Addr().String(), Release: 1}}})

	// No certificate yet: plain HTTP is served, not redirected.
	if code, _, _ := d.httpGet(t, "shop.example.test", "/"); code != http.StatusOK {
		t.Fatalf("http before any certificate: %d, want 200", code)
	}

	start := time.Now()
	resp, body := d.httpsGet(t, ca.roots, "shop.example.test", "/")
	t.Logf("first HTTPS request, certificate issued by Pebble: %s", time.Since(start).Round(time.Millisecond))
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "shop over ") {
		t.Fatalf("https: %d %q", resp.StatusCode, body)
	}
	if resp.Proto != "HTTP/2.0" {
		t.Errorf("https protocol %s, want HTTP/2.0", resp.Proto)
	}
	leaf := resp.TLS.PeerCertificates[0]
	if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "shop.example.test" {
		t.Errorf("certificate names %v, want [shop.example.test]", leaf.DNSNames)
	}
	if !strings.HasPrefix(leaf.Issuer.CommonName, "Pebble Intermediate CA") {
		t.Errorf("certificate issuer %q, want Pebble's", leaf.Issuer.CommonName)
	}
	if _, err := os.Stat(filepath.Join(data, "certs", "shop.example.test")); err != nil {
		t.Errorf("certificate not cached: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(data, "certs")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("certificate cache: %v %v, want mode 0700", fi, err)
	}

	// Now that it has a certificate, the host is redirected to HTTPS.
	code, loc, _ := d.httpGet(t, "shop.example.test", "/cart?id=7")
	if want := "https://shop.example.test:" + strconv.Itoa(portOf(t, httpsLn)) + "/cart?id=7"; code != http.StatusPermanentRedirect || loc != want {
		t.Errorf("http after issuance: %d %q, want 308 %q", code, loc, want)
	}
	// A *.localhost host gets no certificate and stays on plain HTTP.
	if code, _, _ := d.httpGet(t, "shop.localhost", "/"); code != http.StatusOK {
		t.Errorf("http for shop.localhost: %d, want 200", code)
	}

	// Hosts without a route, and local names, get no certificate: the
	// handshake fails and nothing is asked of the CA.
	for _, host := range []string{"unknown.example.test", "shop.localhost"} {
		c := d.httpsClient(ca.roots)
		_, err := c.Get("https://" + host + "/")
		if err == nil || !strings.Contains(err.Error(), "tls") {
			t.Errorf("https for %s: %v, want a TLS handshake error", host, err)
		}
		if _, err := os.Stat(filepath.Join(data, "certs", host)); err == nil {
			t.Errorf("a certificate was cached for %s", host)
		}
	}
}

func TestHTTPS_ACMEHTTP01ChallengeIsAnsweredDespiteTheRedirect(t *testing.T) {
	httpLn, httpsLn := listenLoopback(t), listenLoopback(t)
	ca := startPebble(t, portOf(t, httpLn), freePort(t)) // http-01 only
	data := t.TempDir()
	// The host had a certificate, now expired: the proxy redirects it to
	// HTTPS, and its renewal must still validate over plain HTTP.
	cacheDir := filepath.Join(data, "certs")
	os.MkdirAll(cacheDir, 0o700)
	writeExpiredCert(t, filepath.Join(cacheDir, "shop.example.test"), "shop.example.test")

	d := startTLSDaemon(t, data, httpLn, httpsLn, true, certs.Config{Directory: ca.directory, CARoots: ca.caRoots})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "shop") }))
	t.Cleanup(backend.Close)
	setRoute(t, d.ctl, proxy.Route{App: "shop", Hosts: []string{"shop.example.test"}, Backends: []proxy.Backend{{ID: "b1", Addr: backend.Listener.Addr().String(), Release: 1}}})

	if code, _, _ := d.httpGet(t, "shop.example.test", "/"); code != http.StatusPermanentRedirect {
		t.Fatalf("http for a host with a cached certificate: %d, want 308", code)
	}
	if code, _, _ := d.httpGet(t, "shop.example.test", "/.well-known/acme-challenge/unknown-token"); code != http.StatusNotFound {
		t.Fatalf("http challenge path: %d, want 404 from the ACME handler (not a redirect)", code)
	}

	resp, body := d.httpsGet(t, ca.roots, "shop.example.test", "/")
	if resp.StatusCode != http.StatusOK || body != "shop" || resp.Proto != "HTTP/2.0" {
		t.Fatalf("https: %d %s %q", resp.StatusCode, resp.Proto, body)
	}
	if leaf := resp.TLS.PeerCertificates[0]; !strings.HasPrefix(leaf.Issuer.CommonName, "Pebble Intermediate CA") || time.Now().After(leaf.NotAfter) {
		t.Errorf("certificate from %q until %s, want a fresh one from Pebble", leaf.Issuer.CommonName, leaf.NotAfter)
	}
}

func TestHTTPS_FileCertificateWithHTTP2AndRedirect(t *testing.T) {
	httpLn, httpsLn := listenLoopback(t), listenLoopback(t)
	dir := t.TempDir()
	certFile, keyFile, pool := writeSelfSigned(t, dir, "*.files.test")
	d := startTLSDaemon(t, dir, httpLn, httpsLn, true, certs.Config{CertFile: certFile, KeyFile: keyFile})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Header.Get("X-Forwarded-Proto"))
	}))
	t.Cleanup(backend.Close)
	setRoute(t, d.ctl, proxy.Route{App: "a", Hosts: []string{"a.files.test", "a.other.test"}, Backends: []proxy.Backend{{ID: "b1", Addr: backend.Listener.Addr().String(), Release: 1}}})

	resp, body := d.httpsGet(t, pool, "a.files.test", "/")
	if resp.StatusCode != http.StatusOK || resp.Proto != "HTTP/2.0" {
		t.Fatalf("https: %d %s", resp.StatusCode, resp.Proto)
	}
	if body != "https" {
		t.Errorf("X-Forwarded-Proto over HTTPS: %q, want https", body)
	}
	if got := resp.TLS.PeerCertificates[0].DNSNames; len(got) != 1 || got[0] != "*.files.test" {
		t.Errorf("certificate names %v", got)
	}
	code, loc, _ := d.httpGet(t, "a.files.test", "/x?y=1")
	if want := "https://a.files.test:" + strconv.Itoa(portOf(t, httpsLn)) + "/x?y=1"; code != http.StatusPermanentRedirect || loc != want {
		t.Errorf("http: %d %q, want 308 %q", code, loc, want)
	}
	// A host the certificate does not cover stays on plain HTTP.
	if code, _, body := d.httpGet(t, "a.other.test", "/"); code != http.StatusOK || body != "http" {
		t.Errorf("http for an uncovered host: %d %q, want 200 \"http\"", code, body)
	}
}

// tlsDaemon is Run serving HTTP and HTTPS on loopback.
type tlsDaemon struct {
	httpAddr, httpsAddr string
	ctl                 *Client
}

func startTLSDaemon(t *testing.T, data string, httpLn, httpsLn net.Listener, redirect bool, tc certs.Config) *tlsDaemon {
	t.Helper()
	tc.CacheDir = filepath.Join(data, "certs")
	var logs lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	socket := socketPath(t)
	d := &tlsDaemon{httpAddr: httpLn.Addr().String(), httpsAddr: httpsLn.Addr().String()}
	result := make(chan error, 1)
	go func() {
		result <- Run(ctx, Config{
			HTTPListener: httpLn, HTTPSListener: httpsLn, RedirectHTTPS: redirect, TLS: tc,
			SocketPath: socket, StateFile: filepath.Join(data, "routes.json"), ShutdownTimeout: 5 * time.Second,
			Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-result:
			if err != nil {
				t.Errorf("daemon: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("daemon did not stop within 10s")
		}
		if t.Failed() {
			t.Logf("proxy log:\n%s", logs.String())
		}
	})
	d.ctl = NewClient(socket)
	t.Cleanup(func() { d.ctl.Close() })
	eventually(t, 5*time.Second, "the control socket", func() bool {
		_, err := d.ctl.Routes(context.Background())
		return err == nil
	})
	return d
}

// httpGet sends GET http://host+path to the daemon's HTTP listener,
// without following redirects.
func (d *tlsDaemon) httpGet(t *testing.T, host, path string) (code int, location, body string) {
	t.Helper()
	c := &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{DialContext: dialTo(d.httpAddr)},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer c.CloseIdleConnections()
	resp, err := c.Get("http://" + host + path)
	if err != nil {
		t.Fatalf("GET http://%s%s: %v", host, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// httpsClient connects to the daemon's HTTPS listener whatever the URL's
// host (which is the SNI), trusting roots.
func (d *tlsDaemon) httpsClient(roots *x509.CertPool) *http.Client {
	return &http.Client{
		Timeout: time.Minute, // the first handshake waits for the CA
		Transport: &http.Transport{
			DialContext:       dialTo(d.httpsAddr),
			TLSClientConfig:   &tls.Config{RootCAs: roots},
			ForceAttemptHTTP2: true,
		},
	}
}

func (d *tlsDaemon) httpsGet(t *testing.T, roots *x509.CertPool, host, path string) (*http.Response, string) {
	t.Helper()
	c := d.httpsClient(roots)
	defer c.CloseIdleConnections()
	resp, err := c.Get("https://" + host + path)
	if err != nil {
		t.Fatalf("GET https://%s%s: %v", host, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func dialTo(addr string) func(ctx context.Context, network, _ string) (net.Conn, error) {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
	}
}

// acmeServer is a running Pebble.
type acmeServer struct {
	directory string         // ACME directory URL
	caRoots   string         // PEM file that Pebble's own HTTPS certificate chains to
	roots     *x509.CertPool // Pebble's issuing root, fetched from its management API
}

// startPebble runs pebble-challtestsrv (DNS: every name is 127.0.0.1) and
// Pebble on loopback, Pebble validating http-01 on httpPort and
// tls-alpn-01 on tlsPort. Both are stopped at the end of the test.
func startPebble(t *testing.T, httpPort, tlsPort int) *acmeServer {
	t.Helper()
	pebble, challtestsrv := findTool(t, "pebble"), findTool(t, "pebble-challtestsrv")
	dir := t.TempDir()

	// Pebble's own HTTPS certificate, from a CA made here (the proxy
	// trusts it through --acme-ca-roots).
	caFile, caCert, caKey := writeCA(t, dir)
	serverCert, serverKey := writeLeaf(t, dir, caCert, caKey)

	dnsPort, chMgmtPort, acmePort, mgmtPort := freePort(t), freePort(t), freePort(t), freePort(t)
	runTool(t, challtestsrv, nil,
		"-dnsserver", loop(dnsPort), "-management", loop(chMgmtPort),
		"-http01", "", "-https01", "", "-doh", "", "-tlsalpn01", "",
		"-defaultIPv4", "127.0.0.1", "-defaultIPv6", "")

	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":                  loop(acmePort),
		"managementListenAddress":        loop(mgmtPort),
		"certificate":                    serverCert,
		"privateKey":                     serverKey,
		"httpPort":                       httpPort,
		"tlsPort":                        tlsPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
		"keyAlgorithm":                   "ecdsa",
	}}
	cfgFile := filepath.Join(dir, "pebble-config.json")
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	runTool(t, pebble, []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0"},
		"-config", cfgFile, "-dnsserver", loop(dnsPort))

	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer c.CloseIdleConnections()
	a := &acmeServer{directory: "https://" + loop(acmePort) + "/dir", caRoots: caFile}
	eventually(t, 15*time.Second, "Pebble and its DNS server to answer", func() bool {
		conn, err := net.DialTimeout("tcp", loop(dnsPort), time.Second)
		if err != nil {
			return false
		}
		conn.Close()
		resp, err := c.Get(a.directory)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	resp, err := c.Get("https://" + loop(mgmtPort) + "/roots/0")
	if err != nil {
		t.Fatalf("Pebble's root: %v", err)
	}
	defer resp.Body.Close()
	rootPEM, _ := io.ReadAll(resp.Body)
	a.roots = x509.NewCertPool()
	if !a.roots.AppendCertsFromPEM(rootPEM) {
		t.Fatalf("Pebble's root is not PEM: %q", rootPEM)
	}
	return a
}

// findTool finds a Go-installed test tool in PATH, $GOBIN or
// $(go env GOPATH)/bin, or fails the test saying how to install it.
func findTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	out, _ := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n") // GOBIN's line may be empty
	var dirs []string
	if len(lines) > 0 && lines[0] != "" {
		dirs = append(dirs, lines[0])
	}
	if len(lines) > 1 {
		for _, gp := range filepath.SplitList(lines[1]) {
			dirs = append(dirs, filepath.Join(gp, "bin"))
		}
	}
	for _, d := range dirs {
		if p := filepath.Join(d, name); isExecutable(p) {
			return p
		}
	}
	t.Fatalf("%s (the local ACME test server) is not installed: not in PATH nor in %v. "+
		"Run `make deps`, or: go install github.com/letsencrypt/pebble/v2/cmd/%s@%s", name, dirs, name, pebbleVersion)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// runTool starts a tool that runs until it is stopped at the end of the
// test; its output is shown if the test fails.
func runTool(t *testing.T, path string, env []string, args ...string) {
	t.Helper()
	var out lockedBuffer
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			t.Errorf("%s did not exit after SIGKILL", filepath.Base(path))
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(path), out.String())
		}
	})
}

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// freePort returns a loopback port nothing listens on (now).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return portOf(t, ln)
}

func portOf(t *testing.T, ln net.Listener) int { return ln.Addr().(*net.TCPAddr).Port }

func loop(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Certificates made for the tests.

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writePEM(t *testing.T, path string, blocks ...*pem.Block) {
	t.Helper()
	var buf bytes.Buffer
	for _, b := range blocks {
		pem.Encode(&buf, b)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func keyBlock(t *testing.T, k *ecdsa.PrivateKey) *pem.Block {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
}

func certTemplate(cn string, from, until time.Time) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    from,
		NotAfter:     until,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
}

func writeCA(t *testing.T, dir string) (string, *x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key := newKey(t)
	tmpl := certTemplate("nonstop test CA", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	path := filepath.Join(dir, "ca.pem")
	writePEM(t, path, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	return path, cert, key
}

// writeLeaf writes a certificate for 127.0.0.1 signed by ca.
func writeLeaf(t *testing.T, dir string, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (certFile, keyFile string) {
	t.Helper()
	key := newKey(t)
	tmpl := certTemplate("127.0.0.1", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem")
	writePEM(t, certFile, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	writePEM(t, keyFile, keyBlock(t, key))
	return certFile, keyFile
}

// writeSelfSigned writes a self-signed certificate for name and returns
// its files and a pool trusting it.
func writeSelfSigned(t *testing.T, dir, name string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key := newKey(t)
	tmpl := certTemplate(name, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	tmpl.DNSNames = []string{name}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writePEM(t, certFile, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	writePEM(t, keyFile, keyBlock(t, key))
	return certFile, keyFile, pool
}

// writeExpiredCert writes, in autocert's cache format (key, then chain),
// a certificate for name that expired yesterday.
func writeExpiredCert(t *testing.T, path, name string) {
	t.Helper()
	key := newKey(t)
	tmpl := certTemplate(name, time.Now().Add(-72*time.Hour), time.Now().Add(-24*time.Hour))
	tmpl.DNSNames = []string{name}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, path, keyBlock(t, key), &pem.Block{Type: "CERTIFICATE", Bytes: der})
}
