package rollout_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/store"
)

// What a test sees of an app from the outside: requests through the
// proxy, and the proxy's route.

// get sends one request for the app through the proxy.
func (r *rig) get(app, path string) (int, string, http.Header) {
	r.t.Helper()
	req, err := http.NewRequest("GET", r.srv.URL+path, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	req.Host = app + ".localhost"
	resp, err := r.client.Do(req)
	if err != nil {
		r.t.Fatalf("GET %s through the proxy: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

// mustServe checks that the app answers through the proxy from version v.
func (r *rig) mustServe(app string, v int) {
	r.t.Helper()
	for range 4 { // every backend, likely
		code, body, h := r.get(app, "/")
		if code != http.StatusOK || h.Get("X-Version") != fmt.Sprint(v) {
			r.t.Fatalf("GET / = %d %q (X-Version %q), want 200 from v%d", code, strings.TrimSpace(body), h.Get("X-Version"), v)
		}
	}
}

// route returns the app's route in the proxy.
func (r *rig) route(app string) (proxy.Route, bool) {
	r.t.Helper()
	routes, err := r.px.Routes(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	for _, rt := range routes {
		if rt.App == app {
			return rt, true
		}
	}
	return proxy.Route{}, false
}

// backendReleases lists the release of each backend of the app's route.
func (r *rig) backendReleases(app string) []int {
	r.t.Helper()
	rt, ok := r.route(app)
	if !ok {
		r.t.Fatalf("the proxy has no route for %s", app)
	}
	var out []int
	for _, b := range rt.Backends {
		out = append(out, b.Release)
	}
	sort.Ints(out)
	return out
}

func (r *rig) active(app string) []*store.Instance {
	r.t.Helper()
	list, err := r.st.ActiveInstances(context.Background(), r.app(app).ID)
	if err != nil {
		r.t.Fatal(err)
	}
	return list
}

// events returns a rollout's events.
func (r *rig) events(id int64) []store.Event {
	r.t.Helper()
	evs, err := r.st.RolloutEvents(context.Background(), id, 0, 10000)
	if err != nil {
		r.t.Fatal(err)
	}
	return evs
}

// eventually polls cond every 50ms, up to d.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// sameIDs reports whether a and b hold the same instances, in any order.
func sameIDs(a, b []*store.Instance) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]bool{}
	for _, in := range a {
		seen[in.ID] = true
	}
	for _, in := range b {
		if !seen[in.ID] {
			return false
		}
	}
	return true
}
