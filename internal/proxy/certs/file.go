package certs

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// reloadEvery is how often the fixed certificate's files are checked for
// a change (a renewal by another tool), on the handshakes that follow.
const reloadEvery = 30 * time.Second

// fileCert is the fixed certificate, read again when its files change.
type fileCert struct {
	certFile, keyFile string
	log               *slog.Logger
	cur               atomic.Pointer[loadedCert]
	checked           atomic.Int64 // unix nanoseconds of the last look at the files
}

// loadedCert is one version of the fixed certificate and the names it
// covers.
type loadedCert struct {
	cert    *tls.Certificate
	exact   map[string]bool // names
	wild    map[string]bool // "example.com" for "*.example.com"
	modTime time.Time       // the later of the two files' modification times
}

func loadFileCert(certFile, keyFile string, log *slog.Logger) (*fileCert, error) {
	f := &fileCert{certFile: certFile, keyFile: keyFile, log: log}
	c, err := f.load()
	if err != nil {
		return nil, err
	}
	f.cur.Store(c)
	f.checked.Store(time.Now().UnixNano())
	return f, nil
}

func (f *fileCert) load() (*loadedCert, error) {
	mod, err := f.modTime()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
	if err != nil {
		return nil, fmt.Errorf("load certificate %s: %w", f.certFile, err)
	}
	c := &loadedCert{cert: &cert, exact: map[string]bool{}, wild: map[string]bool{}, modTime: mod}
	names := cert.Leaf.DNSNames
	if len(names) == 0 && cert.Leaf.Subject.CommonName != "" {
		names = []string{cert.Leaf.Subject.CommonName}
	}
	for _, n := range names {
		n = NormalizeHost(n)
		if parent, ok := strings.CutPrefix(n, "*."); ok {
			c.wild[parent] = true
		} else {
			c.exact[n] = true
		}
	}
	return c, nil
}

func (f *fileCert) modTime() (time.Time, error) {
	var latest time.Time
	for _, p := range []string{f.certFile, f.keyFile} {
		fi, err := os.Stat(p)
		if err != nil {
			return time.Time{}, fmt.Errorf("certificate: %w", err)
		}
		if fi.ModTime().After(latest) {
			latest = fi.ModTime()
		}
	}
	return latest, nil
}

// get returns the current certificate, first reading the files again if
// they changed (looked at no more than every reloadEvery, by one caller).
// A version that fails to load is logged and the previous one kept.
func (f *fileCert) get(now time.Time) *loadedCert {
	c := f.cur.Load()
	last := f.checked.Load()
	if now.UnixNano()-last < int64(reloadEvery) || !f.checked.CompareAndSwap(last, now.UnixNano()) {
		return c
	}
	if mod, err := f.modTime(); err == nil && mod.Equal(c.modTime) {
		return c
	}
	next, err := f.load()
	if err != nil {
		f.log.Warn("reload the certificate; keeping the previous one", "err", err)
		return c
	}
	f.cur.Store(next)
	f.log.Info("certificate reloaded", "file", f.certFile, "expires", next.cert.Leaf.NotAfter)
	return next
}

// covers reports whether the certificate is valid for host (normalised).
func (c *loadedCert) covers(host string) bool {
	if c.exact[host] {
		return true
	}
	i := strings.IndexByte(host, '.')
	return i > 0 && c.wild[host[i+1:]]
}
