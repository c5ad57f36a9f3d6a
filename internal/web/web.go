// Package web is nonstop's dashboard: a page served at / on the API
// listener, from files embedded in the binary (static/: the page, its
// style, its script as ES modules in static/js, and uPlot for the charts,
// vendored from npm in static/vendor with its version and licence). It
// holds no data of its own: the page's script calls the REST API under
// /api/v1 with the user's password session or API token, so the dashboard
// can do exactly what that user may. Nothing is fetched from elsewhere.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Handler serves the dashboard: the page at /, its script and style
// under /ui/. Responses forbid framing, sniffing and any script, style or
// connection that is not this server's.
func Handler() http.Handler {
	files, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	assets := http.StripPrefix("/ui/", http.FileServerFS(files))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, files, "index.html")
	})
	mux.Handle("GET /ui/", assets)
	return secure(mux)
}

// secure adds the headers that keep the page from being framed, sniffed
// or made to load anything from elsewhere.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		hdr.Set("X-Frame-Options", "DENY")
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Referrer-Policy", "no-referrer")
		hdr.Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}
