package proxy

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestErrorPage_HTMLForBrowsersTextOtherwise(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	w := httptest.NewRecorder()
	writePage(w, r, http.StatusBadGateway, "app <shop>: the instance did not answer (connection refused)")
	if w.Code != 502 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("status %d type %q", w.Code, w.Header().Get("Content-Type"))
	}
	body := w.Body.String()
	mustContain(t, body, "<h1>502 Bad Gateway</h1>")
	mustContain(t, body, "app &lt;shop&gt;: the instance did not answer (connection refused)")

	r = httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Accept", "application/json")
	w = httptest.NewRecorder()
	writePage(w, r, http.StatusNotFound, "no app is served at host x.test")
	if w.Code != 404 || w.Body.String() != "no app is served at host x.test\n" || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("%d %q %q", w.Code, w.Body.String(), w.Header().Get("Content-Type"))
	}
}

func TestErrorPage_HEADHasNoBody(t *testing.T) {
	w := httptest.NewRecorder()
	writePage(w, httptest.NewRequest(http.MethodHead, "/", nil), http.StatusServiceUnavailable, "app shop is down for maintenance")
	if w.Code != 503 || w.Body.Len() != 0 {
		t.Fatalf("%d %q", w.Code, w.Body.String())
	}
}
