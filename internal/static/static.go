// Package static serves a static site's folder as nonstop's own web
// server, the instance a detected static site runs (`nonstop static`):
// index.html for folders, no listings, a 404.html when the site has one,
// validators (ETag, Last-Modified) on every file, caching that suits each
// kind of file, and gzip for text, compressed once per file version.
package static

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Cache-Control by kind of file.
const (
	cacheHTML      = "no-cache"                            // revalidated at each visit: a deploy shows at once
	cacheFingerprt = "public, max-age=31536000, immutable" // app.3f2a9c1b.js: its name changes with its bytes
	cacheOther     = "public, max-age=300"
)

// fingerprinted matches a name that carries a hash of its content, as
// bundlers write them: app.3f2a9c1b.js, index-B7pZx0Qe.css.
var fingerprinted = regexp.MustCompile(`[.-][A-Za-z0-9_]{8,}\.[a-z0-9]+$`)

// compressible are the types worth gzipping.
func compressible(ctype string) bool {
	ctype, _, _ = strings.Cut(ctype, ";")
	return strings.HasPrefix(ctype, "text/") || ctype == "application/javascript" || ctype == "application/json" ||
		ctype == "image/svg+xml" || ctype == "application/xml" || ctype == "application/wasm" || ctype == "application/manifest+json"
}

// minGzip is the smallest file worth compressing.
const minGzip = 1024

// Handler serves the files of root.
func Handler(root string) http.Handler {
	return &handler{root: root}
}

type handler struct {
	root string
	// site is root, opened once at the first request, for every request
	// after (siteErr: why it could not be).
	siteOnce sync.Once
	site     *os.Root
	siteErr  error

	mu      sync.Mutex
	gzipped map[string]gzipped // by path: its compressed bytes, for one version of the file
}

type gzipped struct {
	mod  time.Time
	size int64
	data []byte
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := path.Clean("/" + r.URL.Path)
	f, fi, err := h.open(name)
	if err == nil && fi.IsDir() {
		f.Close()
		if !strings.HasSuffix(r.URL.Path, "/") { // a folder is its index, at a URL ending in /
			http.Redirect(w, r, r.URL.Path+"/", http.StatusMovedPermanently)
			return
		}
		name = path.Join(name, "index.html")
		f, fi, err = h.open(name)
	}
	if err != nil {
		h.notFound(w, r)
		return
	}
	defer f.Close()
	h.serve(w, r, name, f, fi, http.StatusOK)
}

// open opens a file of the site, never one out of it (os.Root).
func (h *handler) open(name string) (*os.File, fs.FileInfo, error) {
	h.siteOnce.Do(func() { h.site, h.siteErr = os.OpenRoot(h.root) })
	if h.siteErr != nil {
		return nil, nil, h.siteErr
	}
	rel := strings.TrimPrefix(name, "/")
	if rel == "" {
		rel = "."
	}
	f, err := h.site.Open(rel)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	f, fi, err := h.open("/404.html")
	if err != nil || fi.IsDir() {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	defer f.Close()
	h.serve(w, r, "/404.html", f, fi, http.StatusNotFound)
}

// serve writes one file: with its validators and caching, gzipped when
// the client takes it and the file is worth it. A status other than 200
// (the site's 404 page) is written without ranges or conditionals.
func (h *handler) serve(w http.ResponseWriter, r *http.Request, name string, f *os.File, fi fs.FileInfo, status int) {
	hdr := w.Header()
	ctype := mime.TypeByExtension(filepath.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	hdr.Set("Content-Type", ctype)
	hdr.Set("X-Content-Type-Options", "nosniff")
	switch {
	case strings.HasSuffix(name, ".html"):
		hdr.Set("Cache-Control", cacheHTML)
	case fingerprinted.MatchString(name):
		hdr.Set("Cache-Control", cacheFingerprt)
	default:
		hdr.Set("Cache-Control", cacheOther)
	}
	etag := fmt.Sprintf(`"%x-%x"`, fi.Size(), fi.ModTime().UnixNano())
	var body io.ReadSeeker = f
	if compressible(ctype) && fi.Size() >= minGzip && acceptsGzip(r) {
		hdr.Add("Vary", "Accept-Encoding")
		if data, err := h.gzipOf(name, f, fi); err == nil {
			hdr.Set("Content-Encoding", "gzip")
			etag = strings.TrimSuffix(etag, `"`) + `-gz"`
			body = bytes.NewReader(data)
		} else {
			slog.Warn("gzip", "file", name, "err", err) // served plain
			f.Seek(0, io.SeekStart)
		}
	} else if compressible(ctype) {
		hdr.Add("Vary", "Accept-Encoding")
	}
	hdr.Set("ETag", etag)
	if status != http.StatusOK {
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			io.Copy(w, body)
		}
		return
	}
	http.ServeContent(w, r, name, fi.ModTime(), body)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}

// maxGzipped bounds the bytes of compressed files kept in memory.
const maxGzipped = 64 << 20

// gzipOf returns name's bytes gzipped, compressed once per version of
// the file (its size and modification time).
func (h *handler) gzipOf(name string, f *os.File, fi fs.FileInfo) ([]byte, error) {
	h.mu.Lock()
	g, ok := h.gzipped[name]
	h.mu.Unlock()
	if ok && g.mod.Equal(fi.ModTime()) && g.size == fi.Size() {
		return g.data, nil
	}
	plain, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(plain); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gzipped == nil || h.size()+int64(buf.Len()) > maxGzipped {
		h.gzipped = map[string]gzipped{}
	}
	h.gzipped[name] = gzipped{mod: fi.ModTime(), size: fi.Size(), data: buf.Bytes()}
	return buf.Bytes(), nil
}

func (h *handler) size() int64 {
	var n int64
	for _, g := range h.gzipped {
		n += int64(len(g.data))
	}
	return n
}

// Serve serves root on addr until ctx ends, then lets the requests in
// flight finish (up to 10s): a rollout's stop drains it like any app.
func Serve(ctx context.Context, addr, root string) error {
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return fmt.Errorf("static site %s: not a folder", root)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("static site: listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: Handler(root), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
