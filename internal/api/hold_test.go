package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/client"
	"github.com/nonstopdev/nonstop/internal/proxy"
)

// routeHold returns the hold of the app's route in the proxy, or nil.
func (s *server) routeHold(app string) *proxy.Hold {
	s.t.Helper()
	routes, err := s.px.Routes(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	for _, r := range routes {
		if r.App == app {
			return r.Hold
		}
	}
	s.t.Fatalf("the proxy has no route for %s", app)
	return nil
}

func TestAPI_HoldAndUnholdSetTheRouteAndShowInStatus(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	s.createApp("hello")
	s.deployLive("hello", 1)

	res, err := s.admin.Hold(ctx, "hello", 20*time.Second, 50)
	if err != nil {
		t.Fatal(err)
	}
	if res.Hold == nil || res.Hold.MaxWait != 20*time.Second || res.Hold.MaxQueue != 50 || !strings.Contains(res.Result, "hello") {
		t.Errorf("hold answered %+v (hold %+v)", res, res.Hold)
	}
	if got := s.routeHold("hello"); got == nil || *got != (proxy.Hold{MaxWait: 20 * time.Second, MaxQueue: 50}) {
		t.Fatalf("route hold %+v", got)
	}
	st, err := s.admin.Status(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if st.Hold == nil || st.Hold.MaxWait != 20*time.Second || st.Hold.Since.IsZero() {
		t.Errorf("status shows hold %+v", st.Hold)
	}

	// Another hold with other bounds while held: 409, nothing changed.
	if _, err := s.admin.Hold(ctx, "hello", time.Minute, 0); client.StatusOf(err) != http.StatusConflict {
		t.Errorf("re-hold with other bounds: %v, want 409", err)
	}

	res, err = s.admin.Unhold(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if res.Hold != nil || !strings.Contains(res.Result, "go through") {
		t.Errorf("unhold answered %+v", res)
	}
	if got := s.routeHold("hello"); got != nil {
		t.Errorf("route still held after unhold: %+v", got)
	}
	if code, body := s.getApp("hello"); code != 200 || !strings.Contains(body, "hello from v1") {
		t.Errorf("after unhold: %d %q", code, body)
	}
	if res, err := s.admin.Unhold(ctx, "hello"); err != nil || !strings.Contains(res.Result, "not held") {
		t.Errorf("unhold of an app not held: %+v %v; want 200 saying so", res, err)
	}

	// An empty body takes the defaults.
	code, body, _ := s.raw("POST", "/api/v1/apps/hello/hold", "Bearer "+s.token, nil)
	if code != http.StatusOK || !strings.Contains(body, "30s") {
		t.Errorf("hold with no body: %d %s; want 200 with the 30s default", code, body)
	}
	if got := s.routeHold("hello"); got == nil || *got != proxy.DefaultHold {
		t.Errorf("route hold with defaults %+v, want %+v", got, proxy.DefaultHold)
	}
}

func TestAPI_HoldRefusesBadBoundsStrangersAndUnknownApps(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	s.createApp("hello")
	s.deployLive("hello", 1)

	bad := []string{
		`{"max_wait": "soon"}`,
		`{"max_wait": "11m"}`,
		`{"max_wait": "-1s"}`,
		`{"max_queue": -1}`,
		`{"max_queue": 100001}`,
		`{"max_wait": "1s", "until": "done"}`,
		`not json`,
	}
	for _, b := range bad {
		code, body, _ := s.raw("POST", "/api/v1/apps/hello/hold", "Bearer "+s.token, strings.NewReader(b))
		if code != http.StatusBadRequest || !strings.Contains(body, `"error"`) {
			t.Errorf("hold %s: %d %s, want 400 with an error", b, code, body)
		}
	}
	if got := s.routeHold("hello"); got != nil {
		t.Fatalf("a refused hold reached the proxy: %+v", got)
	}

	for _, path := range []string{"/api/v1/apps/hello/hold", "/api/v1/apps/hello/unhold"} {
		if code, body, h := s.raw("POST", path, "", nil); code != http.StatusUnauthorized || h.Get("WWW-Authenticate") == "" {
			t.Errorf("POST %s without a token: %d %s", path, code, body)
		}
		if code, body, _ := s.raw("POST", path, "Bearer not-a-token", nil); code != http.StatusUnauthorized {
			t.Errorf("POST %s with a bad token: %d %s", path, code, body)
		}
	}
	stranger := s.member("eve", "others")
	if _, err := stranger.Hold(ctx, "hello", time.Second, 0); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("hold of another team's app: %v, want 404", err)
	}
	if _, err := stranger.Unhold(ctx, "hello"); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("unhold of another team's app: %v, want 404", err)
	}
	if _, err := s.admin.Hold(ctx, "nope", time.Second, 0); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("hold of an unknown app: %v, want 404", err)
	}
	if _, err := s.admin.Unhold(ctx, "nope"); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("unhold of an unknown app: %v, want 404", err)
	}
	if got := s.routeHold("hello"); got != nil {
		t.Errorf("refused requests left the route held: %+v", got)
	}
}
