package api_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/api"
	"github.com/nonstopdev/nonstop/internal/auth"
	"github.com/nonstopdev/nonstop/internal/metrics"
	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/store"
)

// metricsAPI is the API with GET /metrics wired as the server wires it,
// over a real proxy serving on loopback.
type metricsAPI struct {
	url    string
	admin  string // the admin's token
	member string // a member's token
	st     *store.Store
	px     *proxy.Proxy
	apps   string // the proxy's address
}

func newMetricsAPI(t *testing.T) *metricsAPI {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := &metricsAPI{st: st, admin: auth.NewToken(), member: auth.NewToken()}
	if _, err := st.Bootstrap(ctx, auth.Hash(m.admin)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUser(ctx, "mia", store.RoleMember, "payments", auth.Hash(m.member)); err != nil {
		t.Fatal(err)
	}

	m.px = proxy.New(proxy.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := proxy.NewFastServer(m.px, proxy.NewServer("", m.px))
	go fs.Serve(ln)
	m.apps = ln.Addr().String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		fs.Shutdown(ctx)
		m.px.Close()
	})

	log := slog.New(slog.DiscardHandler)
	reg := metrics.NewRegistry(metrics.NewCollector(m.px, st, metrics.Options{}))
	srv := httptest.NewServer(api.New(api.Config{Store: st, Proxy: m.px, Logger: log, Metrics: metrics.Handler(reg, log), Version: "test"}))
	t.Cleanup(srv.Close)
	m.url = srv.URL
	return m
}

// scrape gets /metrics with Authorization authz ("" for none).
func (m *metricsAPI) scrape(t *testing.T, authz string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", m.url+"/metrics", nil)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func TestMetrics_ScrapeNeedsAnAdminsBearerToken(t *testing.T) {
	m := newMetricsAPI(t)
	for _, authz := range []string{"", "Bearer wrong-token", "Basic " + m.admin} {
		code, body, h := m.scrape(t, authz)
		if code != http.StatusUnauthorized || !strings.Contains(body, `"error"`) || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("GET /metrics with Authorization %q: %d %s, want 401 with WWW-Authenticate: Bearer", authz, code, body)
		}
		if strings.Contains(body, "nonstop_") {
			t.Errorf("an unauthenticated scrape got metrics: %s", body)
		}
	}
	// A member's token may not see every team's apps.
	if code, body, _ := m.scrape(t, "Bearer "+m.member); code != http.StatusForbidden || strings.Contains(body, "nonstop_") {
		t.Errorf("GET /metrics as a member: %d %s, want 403", code, body)
	}
	code, body, h := m.scrape(t, "Bearer "+m.admin)
	if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics as the admin: %d %s %s", code, h.Get("Content-Type"), body)
	}
	for _, want := range []string{"nonstop_proxy_up 1", "nonstop_apps 0", "go_goroutines "} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q:\n%s", want, body)
		}
	}
}

func TestMetrics_ScrapeShowsTheProxysRequestsPerRelease(t *testing.T) {
	ctx := context.Background()
	m := newMetricsAPI(t)
	team, err := m.st.TeamID(ctx, store.DefaultTeam)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.st.CreateApp(ctx, "shop", team, nil); err != nil {
		t.Fatal(err)
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer backend.Close()
	route := proxy.Route{App: "shop", Hosts: []string{"shop.localhost"}, Backends: []proxy.Backend{{ID: "shop-v4", Addr: backend.Listener.Addr().String(), Release: 4}}}
	if err := m.px.SetRoute(ctx, route); err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	for _, path := range []string{"/", "/", "/fail", "/"} {
		req, _ := http.NewRequest("GET", "http://"+m.apps+path, nil)
		req.Host = "shop.localhost"
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// A request is measured just after its answer reached the client.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		ms, err := m.px.Metrics(ctx, "shop")
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 1 && ms[0].Requests == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("measurements after 5s: %+v, want 4 requests", ms)
		}
	}

	code, body, _ := m.scrape(t, "Bearer "+m.admin)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	for _, want := range []string{
		`nonstop_requests_total{app="shop",class="2xx",release="4"} 3`,
		`nonstop_requests_total{app="shop",class="5xx",release="4"} 1`,
		`nonstop_connection_errors_total{app="shop",release="4"} 0`,
		`nonstop_request_duration_seconds_count{app="shop",release="4"} 4`,
		`nonstop_apps 1`,
		`nonstop_instances{app="shop",state="serving"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q:\n%s", want, body)
		}
	}
}
