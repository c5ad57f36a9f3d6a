package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy"
)

// The control API, served on the proxy's unix socket (see ListenControl):
//
//	PUT    /routes/{app}         body: Route          → 204
//	DELETE /routes/{app}                              → 204
//	GET    /routes                                    → 200 []Route
//	GET    /routes/{app}/status                       → 200 []BackendStatus
//	GET    /metrics?app={app}    (no app: all apps)   → 200 []ReleaseMetrics
//	POST   /drain                body: DrainRequest   → 200 DrainResponse
//	POST   /shutdown                                  → 202 (with WithShutdown)
//
// Errors are {"error": "...", "code": "..."}: 400 invalid_route, 404
// unknown_app, 503 closed, 400 for a body that does not decode, 500
// otherwise.

// DrainRequest is the body of POST /drain.
type DrainRequest struct {
	Addrs   []string `json:"addrs"`
	Timeout Duration `json:"timeout"` // "30s"
}

// DrainResponse is the answer to POST /drain.
type DrainResponse struct {
	Remaining int64 `json:"remaining"`
}

// Duration is a time.Duration written in JSON as a string ("30s"); a
// number is read as nanoseconds, like Route's durations.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *Duration) UnmarshalJSON(b []byte) error {
	var ns int64
	if err := json.Unmarshal(b, &ns); err == nil {
		*d = Duration(ns)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"30s\" or nanoseconds: %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ControlOption configures ControlHandler.
type ControlOption func(*controlConfig)

type controlConfig struct {
	shutdown func()
}

// WithShutdown serves POST /shutdown, which calls fn (once per request;
// fn must not block) and answers 202 Accepted: fn starts the shutdown.
func WithShutdown(fn func()) ControlOption {
	return func(c *controlConfig) { c.shutdown = fn }
}

// maxControlBody bounds a control request body.
const maxControlBody = 1 << 20

// ControlHandler serves the control API for c.
func ControlHandler(c proxy.Controller, opts ...ControlOption) http.Handler {
	var cfg controlConfig
	for _, o := range opts {
		o(&cfg)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /routes/{app}", func(w http.ResponseWriter, r *http.Request) {
		var rt proxy.Route
		if !decode(w, r, &rt) {
			return
		}
		app := r.PathValue("app")
		if rt.App == "" {
			rt.App = app
		}
		if rt.App != app {
			writeJSONError(w, fmt.Errorf("%w: app %q in the body, %q in the path", proxy.ErrInvalidRoute, rt.App, app))
			return
		}
		if err := c.SetRoute(r.Context(), rt); err != nil {
			writeJSONError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /routes/{app}", func(w http.ResponseWriter, r *http.Request) {
		if err := c.DeleteRoute(r.Context(), r.PathValue("app")); err != nil {
			writeJSONError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /routes", func(w http.ResponseWriter, r *http.Request) {
		routes, err := c.Routes(r.Context())
		if err != nil {
			writeJSONError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, routes)
	})
	mux.HandleFunc("GET /routes/{app}/status", func(w http.ResponseWriter, r *http.Request) {
		st, err := c.Status(r.Context(), r.PathValue("app"))
		if err != nil {
			writeJSONError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		m, err := c.Metrics(r.Context(), r.URL.Query().Get("app"))
		if err != nil {
			writeJSONError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, m)
	})
	mux.HandleFunc("POST /drain", func(w http.ResponseWriter, r *http.Request) {
		var req DrainRequest
		if !decode(w, r, &req) {
			return
		}
		n, err := c.Drain(r.Context(), req.Addrs, time.Duration(req.Timeout))
		if err != nil {
			writeJSONError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, DrainResponse{Remaining: n})
	})
	if cfg.shutdown != nil {
		mux.HandleFunc("POST /shutdown", func(w http.ResponseWriter, r *http.Request) {
			cfg.shutdown()
			writeJSON(w, http.StatusAccepted, map[string]string{"status": "shutting down"})
		})
	}
	return mux
}

// decode reads a JSON body into v, or answers 400 and returns false.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxControlBody)).Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "decode request: " + err.Error()})
		return false
	}
	return true
}

type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code,omitempty"` // names the sentinel error, for Client
}

// controlErrors maps the proxy's errors to HTTP statuses and codes, in one
// place; Client maps the codes back.
var controlErrors = []struct {
	err    error
	status int
	code   string
}{
	{proxy.ErrInvalidRoute, http.StatusBadRequest, "invalid_route"},
	{proxy.ErrUnknownApp, http.StatusNotFound, "unknown_app"},
	{proxy.ErrClosed, http.StatusServiceUnavailable, "closed"},
}

func writeJSONError(w http.ResponseWriter, err error) {
	for _, ce := range controlErrors {
		if errors.Is(err, ce.err) {
			writeJSON(w, ce.status, errorBody{Error: err.Error(), Code: ce.code})
			return
		}
	}
	writeJSON(w, http.StatusInternalServerError, errorBody{Error: err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
