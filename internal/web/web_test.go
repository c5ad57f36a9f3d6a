package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler_ServesThePageAndItsFilesWithStrictHeaders(t *testing.T) {
	h := Handler()
	for _, tc := range []struct {
		path, wantType, wantBody string
	}{
		{"/", "text/html", `<script src="/ui/js/main.js" type="module">`},
		{"/ui/js/api.js", "javascript", "export async function api("},
		{"/ui/js/chart.js", "javascript", "export class TrafficCharts"},
		{"/ui/vendor/uplot/uPlot.iife.min.js", "javascript", "uPlot"},
		{"/ui/vendor/uplot/uPlot.min.css", "text/css", ".uplot"},
		{"/ui/style.css", "text/css", "#events"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Content-Type"), tc.wantType) || !strings.Contains(rec.Body.String(), tc.wantBody) {
			t.Errorf("GET %s: %d %s, body has %q: %v", tc.path, rec.Code, rec.Header().Get("Content-Type"), tc.wantBody, strings.Contains(rec.Body.String(), tc.wantBody))
		}
		csp := rec.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: headers %v", tc.path, rec.Header())
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/ui/../web.go", nil))
	if rec.Code == http.StatusOK && strings.Contains(rec.Body.String(), "package web") {
		t.Errorf("a path out of the static folder was served")
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/nothing", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET /nothing: %d, want 404", rec.Code)
	}
}
