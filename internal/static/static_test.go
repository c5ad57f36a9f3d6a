package static

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func site(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"index.html":             "<h1>home</h1>",
		"404.html":               "<h1>not here</h1>",
		"docs/index.html":        "<h1>docs</h1>",
		"assets/app.3f2a9c1b.js": strings.Repeat("console.log('x');\n", 200),
		"style.css":              strings.Repeat("body { color: red }\n", 200),
		"logo.png":               "\x89PNG....",
		"empty/.keep":            "",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(t.TempDir(), "secret"), []byte("s3cret"), 0o644)
	os.Symlink("/etc/passwd", filepath.Join(dir, "passwd"))
	return dir
}

func get(t *testing.T, srv *httptest.Server, path string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	tr := &http.Transport{DisableCompression: true} // see the encoding as sent
	resp, err := (&http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestHandler_ServesTheSiteWithCachingAndCompression(t *testing.T) {
	srv := httptest.NewServer(Handler(site(t)))
	defer srv.Close()

	resp, body := get(t, srv, "/", nil)
	if resp.StatusCode != 200 || body != "<h1>home</h1>" || resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("ETag") == "" || resp.Header.Get("Last-Modified") == "" {
		t.Errorf("GET /: %d %q %v, want the index, revalidated, with validators", resp.StatusCode, body, resp.Header)
	}
	if again, _ := get(t, srv, "/", map[string]string{"If-None-Match": resp.Header.Get("ETag")}); again.StatusCode != http.StatusNotModified {
		t.Errorf("GET / with its ETag: %d, want 304", again.StatusCode)
	}
	if resp, body := get(t, srv, "/docs/", nil); resp.StatusCode != 200 || body != "<h1>docs</h1>" {
		t.Errorf("GET /docs/: %d %q, want its index", resp.StatusCode, body)
	}
	if resp, _ := get(t, srv, "/docs", nil); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/docs/" {
		t.Errorf("GET /docs: %d %s, want a redirect to /docs/", resp.StatusCode, resp.Header.Get("Location"))
	}

	resp, body = get(t, srv, "/assets/app.3f2a9c1b.js", map[string]string{"Accept-Encoding": "gzip, br"})
	if resp.Header.Get("Cache-Control") != cacheFingerprt || resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
		t.Errorf("a fingerprinted script: %v, want it immutable, gzipped", resp.Header)
	}
	zr, err := gzip.NewReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if len(plain) != 3600 || len(body) >= len(plain)/4 {
		t.Errorf("gzipped %d bytes into %d: want the whole file, much smaller", len(plain), len(body))
	}
	if resp, body := get(t, srv, "/style.css", nil); resp.Header.Get("Content-Encoding") != "" || len(body) != 4000 || resp.Header.Get("Vary") != "Accept-Encoding" || resp.Header.Get("Cache-Control") != cacheOther {
		t.Errorf("a stylesheet to a client without gzip: %v (%d bytes), want it plain, Vary, cached a while", resp.Header, len(body))
	}
	if resp, _ := get(t, srv, "/logo.png", map[string]string{"Accept-Encoding": "gzip"}); resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("an image: %v, want it not gzipped", resp.Header)
	}

	for _, path := range []string{"/nope", "/empty/", "/../secret", "/passwd"} {
		if resp, body := get(t, srv, path, nil); resp.StatusCode != 404 || body != "<h1>not here</h1>" {
			t.Errorf("GET %s: %d %q, want the site's 404 page", path, resp.StatusCode, body)
		}
	}
	req, _ := http.NewRequest("POST", srv.URL+"/", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %v %v, want 405", resp, err)
	}
}
