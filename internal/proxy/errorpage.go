package proxy

import (
	"fmt"
	"html"
	"net/http"
	"strconv"
	"strings"
)

// The pages the proxy answers itself. Each names the app or the host, so
// that whoever sees it knows which service is at fault.

const pageHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>%[1]d %[2]s</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#222}small{color:#777}</style>
</head><body><h1>%[1]d %[2]s</h1><p>%[3]s</p><p><small>nonstop proxy</small></p></body></html>
`

// writePage answers with a small HTML page when the client accepts HTML,
// plain text otherwise.
func writePage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	var body string
	h := w.Header()
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		h.Set("Content-Type", "text/html; charset=utf-8")
		body = fmt.Sprintf(pageHTML, status, html.EscapeString(http.StatusText(status)), html.EscapeString(msg))
	} else {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		body = msg + "\n"
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(body))
	}
}
