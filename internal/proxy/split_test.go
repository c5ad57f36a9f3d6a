package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// servingPaths are the two ways a request crosses the proxy: the fast
// path (FastServer) and net/http (ServeHTTP through ReverseProxy).
var servingPaths = []struct {
	name    string
	handler func(p *Proxy) http.Handler
}{
	{"fast", func(p *Proxy) http.Handler { return p }},
	{"net-http", func(p *Proxy) http.Handler { return http.HandlerFunc(p.ServeHTTP) }},
}

// releaseBackend starts a backend of release n that answers "vN".
func releaseBackend(t *testing.T, n int) (*testBackend, Backend) {
	t.Helper()
	b := startBackend(t, "v"+strconv.Itoa(n), nil)
	return b, Backend{ID: b.name, Addr: b.addr, Release: n}
}

// splitRoute is app.test over backends, with a split to release 2.
func splitRoute(weight int, backends ...Backend) Route {
	return Route{App: "app", Hosts: []string{"app.test"}, Backends: backends, Split: &Split{Release: 2, Weight: weight}}
}

var bucketCookieRE = regexp.MustCompile(`^nonstop_bucket=(\d\d); Path=/; Max-Age=86400; HttpOnly; SameSite=Lax$`)

// setBucket returns the bucket an answer's Set-Cookie gives, -1 for none.
func setBucket(t *testing.T, h http.Header) int {
	t.Helper()
	cookies := h.Values("Set-Cookie")
	if len(cookies) == 0 {
		return -1
	}
	m := bucketCookieRE.FindStringSubmatch(cookies[0])
	if len(cookies) != 1 || m == nil {
		t.Fatalf("Set-Cookie %q, want one nonstop_bucket cookie", cookies)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func withBucket(b int) http.Header {
	return http.Header{"Cookie": {fmt.Sprintf("theme=dark; nonstop_bucket=%02d", b)}}
}

func TestSplit_WeightsSendTheirShareOfNewClients(t *testing.T) {
	for _, path := range servingPaths {
		t.Run(path.name, func(t *testing.T) {
			_, v1 := releaseBackend(t, 1)
			_, v2 := releaseBackend(t, 2)
			p := newTestProxy(t, Options{})
			addr, c := serveProxy(t, path.handler(p))
			const clients = 400
			for _, weight := range []int{0, 10, 50, 100} {
				setRoute(t, p, splitRoute(weight, v1, v2))
				canary := 0
				for range clients {
					code, body, hdr := do(t, c, http.MethodGet, addr, "app.test", "/", nil, nil)
					bucket := setBucket(t, hdr)
					if code != 200 || bucket < 0 {
						t.Fatalf("weight %d: new client got %d %q, bucket cookie %d", weight, code, body, bucket)
					}
					want := "v1"
					if bucket < weight {
						want, canary = "v2", canary+1
					}
					if body != want {
						t.Fatalf("weight %d: bucket %d served by %s, want %s", weight, bucket, body, want)
					}
				}
				// 40 clients is 4 standard deviations at 50 %.
				if d := canary - clients*weight/100; d < -40 || d > 40 || weight == 0 && canary != 0 || weight == 100 && canary != clients {
					t.Errorf("weight %d: %d of %d new clients on the canary", weight, canary, clients)
				}
			}
		})
	}
}

func TestSplit_ClientStaysOnOneVersionWhileTheWeightGrows(t *testing.T) {
	for _, path := range servingPaths {
		t.Run(path.name, func(t *testing.T) {
			_, v1 := releaseBackend(t, 1)
			_, v2 := releaseBackend(t, 2)
			p := newTestProxy(t, Options{})
			addr, c := serveProxy(t, path.handler(p))
			setRoute(t, p, splitRoute(10, v1, v2))

			jar, _ := cookiejar.New(nil)
			browser := &http.Client{Transport: c.Transport, Jar: jar}
			buckets := []int{0, 5, 9, 10, 30, 49, 50, 99}
			seen := map[int][]string{}
			var jarBucket int
			var jarSeen []string
			for i := range 200 {
				if i == 100 {
					setRoute(t, p, splitRoute(50, v1, v2))
				}
				for _, b := range buckets {
					code, body, hdr := do(t, c, http.MethodGet, addr, "app.test", "/", nil, withBucket(b))
					if code != 200 || setBucket(t, hdr) != -1 {
						t.Fatalf("bucket %d: %d %q, Set-Cookie %q", b, code, body, hdr.Values("Set-Cookie"))
					}
					seen[b] = append(seen[b], body)
				}
				code, body, hdr := do(t, browser, http.MethodGet, addr, "app.test", "/", nil, nil)
				got := setBucket(t, hdr)
				switch {
				case code != 200:
					t.Fatalf("browser: %d %q", code, body)
				case i == 0 && got < 0:
					t.Fatal("browser: no bucket cookie at the first request")
				case i == 0:
					jarBucket = got
				case got >= 0:
					t.Fatalf("browser: new bucket %d at request %d, it sent %d", got, i, jarBucket)
				}
				jarSeen = append(jarSeen, body)
			}
			want := func(bucket, i int) string {
				if weight := map[bool]int{true: 10, false: 50}[i < 100]; bucket < weight {
					return "v2"
				}
				return "v1"
			}
			for _, b := range append(buckets, -1) {
				got := seen[b]
				bucket := b
				if b == -1 {
					got, bucket = jarSeen, jarBucket
				}
				for i, v := range got {
					if v != want(bucket, i) {
						t.Fatalf("bucket %d: request %d served by %s, want %s (all: %v)", bucket, i, v, want(bucket, i), got)
					}
					if i > 0 && got[i-1] == "v2" && v == "v1" {
						t.Fatalf("bucket %d: moved back from the canary at request %d", bucket, i)
					}
				}
			}
		})
	}
}

func TestSplit_ABadBucketCookieIsReplaced(t *testing.T) {
	_, v1 := releaseBackend(t, 1)
	_, v2 := releaseBackend(t, 2)
	p := newTestProxy(t, Options{})
	setRoute(t, p, splitRoute(50, v1, v2))
	for _, path := range servingPaths {
		addr, c := serveProxy(t, path.handler(p))
		for _, cookie := range []string{"nonstop_bucket=100", "nonstop_bucket=x1", "nonstop_bucket=", "nonstop_bucket=-1", "other=5"} {
			_, _, hdr := do(t, c, http.MethodGet, addr, "app.test", "/", nil, http.Header{"Cookie": {cookie}})
			if setBucket(t, hdr) < 0 {
				t.Errorf("%s: cookie %q kept, want a new bucket", path.name, cookie)
			}
		}
	}
}

// Testers force a side of a canary in progress with a header; the header
// reaches nothing else: not a blue-green set before its promotion (weight
// 0), not an old set kept warm (weight 100), not a release of a route
// without a split.
func TestSplit_HeaderForcesASideOfACanaryOnly(t *testing.T) {
	for _, path := range servingPaths {
		t.Run(path.name, func(t *testing.T) {
			_, v1 := releaseBackend(t, 1)
			v2b, v2 := releaseBackend(t, 2)
			p := newTestProxy(t, Options{})
			addr, c := serveProxy(t, path.handler(p))
			force := func(bucket, weight int, header, want string) {
				t.Helper()
				for range 10 {
					_, body, _ := do(t, c, http.MethodGet, addr, "app.test", "/", nil, http.Header{releaseHeader: {header}, "Cookie": {fmt.Sprintf("nonstop_bucket=%d", bucket)}})
					if body != want {
						t.Fatalf("bucket %d, weight %d, %s: %s; want %s", bucket, weight, header, body, want)
					}
				}
			}
			setRoute(t, p, splitRoute(10, v1, v2))
			force(50, 10, "2", "v2")
			force(50, 10, "v2", "v2")
			force(5, 10, "v1", "v1")
			force(50, 10, "7", "v1")    // no such release: ignored
			force(50, 10, "beta", "v1") // not a release: ignored
			setRoute(t, p, splitRoute(0, v1, v2))
			force(50, 0, "v2", "v1") // before a promotion: the preview host is the way in
			setRoute(t, p, splitRoute(100, v1, v2))
			force(50, 100, "v1", "v2") // an old set kept warm: no way back in
			setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{v1, v2}})
			seen := map[string]int{} // no split: the header does nothing, both answer
			for range 40 {
				_, body, _ := do(t, c, http.MethodGet, addr, "app.test", "/", nil, http.Header{releaseHeader: {"v2"}})
				seen[body]++
			}
			if seen["v1"] == 0 || seen["v2"] == 0 {
				t.Fatalf("without a split the header still forced: %v", seen)
			}
			_ = v2b
		})
	}
}

func TestSplit_FallsBackToTheOtherGroupWithoutAHealthyBackend(t *testing.T) {
	for _, path := range servingPaths {
		t.Run(path.name, func(t *testing.T) {
			v1b, v1 := releaseBackend(t, 1)
			v2b, v2 := releaseBackend(t, 2)
			p := newTestProxy(t, Options{})
			addr, c := serveProxy(t, path.handler(p))
			health := Health{Path: "/healthz", Interval: 10 * time.Millisecond, Timeout: time.Second, HealthyThreshold: 1, UnhealthyThreshold: 1}
			expect := func(bucket int, want string) {
				t.Helper()
				for range 10 {
					if code, body, _ := do(t, c, http.MethodGet, addr, "app.test", "/", nil, withBucket(bucket)); code != 200 || body != want {
						t.Fatalf("bucket %d: %d %q, want %s", bucket, code, body, want)
					}
				}
			}

			// The canary's health check fails: its clients go to stable.
			r := splitRoute(100, v1, v2)
			r.Health = health
			setRoute(t, p, r)
			v2b.healthCode.Store(500)
			eventually(t, 5*time.Second, "canary ejected", func() bool { return !status(t, p, "app", v2.Addr).Healthy })
			expect(5, "v1")
			// And the stable's: its clients go to the canary.
			v2b.healthCode.Store(200)
			v1b.healthCode.Store(500)
			r.Split.Weight = 0
			setRoute(t, p, r)
			eventually(t, 5*time.Second, "stable ejected and canary back", func() bool {
				return !status(t, p, "app", v1.Addr).Healthy && status(t, p, "app", v2.Addr).Healthy
			})
			expect(50, "v2")

			// The canary cannot be reached (no health check to eject it):
			// each request is retried on the stable.
			v1b.healthCode.Store(200)
			eventually(t, 5*time.Second, "stable back", func() bool { return status(t, p, "app", v1.Addr).Healthy })
			dead := Backend{ID: "dead", Addr: closedAddr(t), Release: 3}
			setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{v1, dead}, Split: &Split{Release: 3, Weight: 100}})
			expect(5, "v1")

			// A retry stays within the group when it can.
			setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{v1, dead, {ID: "v3", Addr: v2.Addr, Release: 3}}, Split: &Split{Release: 3, Weight: 100}})
			expect(5, "v2") // v2's backend, serving release 3 here
		})
	}
}

func TestPreview_HostServesItsReleaseAloneWithoutACookie(t *testing.T) {
	for _, path := range servingPaths {
		t.Run(path.name, func(t *testing.T) {
			_, v1 := releaseBackend(t, 1)
			v2b, v2 := releaseBackend(t, 2)
			p := newTestProxy(t, Options{})
			addr, c := serveProxy(t, path.handler(p))
			r := splitRoute(0, v1, v2)
			r.Previews = map[string]int{"v2.app.test": 2}
			r.Health = Health{Path: "/healthz", Interval: 10 * time.Millisecond, Timeout: time.Second, HealthyThreshold: 1, UnhealthyThreshold: 1}
			setRoute(t, p, r)
			for _, host := range []string{"v2.app.test", "V2.App.Test:80"} {
				for range 10 {
					code, body, hdr := do(t, c, http.MethodGet, addr, host, "/", nil, http.Header{releaseHeader: {"1"}})
					if code != 200 || body != "v2" || len(hdr.Values("Set-Cookie")) != 0 {
						t.Fatalf("%s: %d %q, Set-Cookie %q; want v2 and no cookie", host, code, body, hdr.Values("Set-Cookie"))
					}
				}
			}
			if _, body, hdr := do(t, c, http.MethodGet, addr, "app.test", "/", nil, nil); body != "v1" || setBucket(t, hdr) < 0 {
				t.Fatalf("main host: %q, want v1 with a bucket cookie", body)
			}
			// Its release down: the preview fails rather than serve another.
			v2b.healthCode.Store(500)
			eventually(t, 5*time.Second, "v2 ejected", func() bool { return !status(t, p, "app", v2.Addr).Healthy })
			if code, body := get(t, c, addr, "v2.app.test", "/"); code != http.StatusServiceUnavailable {
				t.Fatalf("preview of a release with no healthy backend: %d %q, want 503", code, body)
			}
		})
	}
}

func TestSplit_HTTP10HandoffHonoursBucketsAndPreviews(t *testing.T) {
	_, v1 := releaseBackend(t, 1)
	_, v2 := releaseBackend(t, 2)
	p := newTestProxy(t, Options{})
	r := splitRoute(10, v1, v2)
	r.Previews = map[string]int{"v2.app.test": 2}
	setRoute(t, p, r)
	addr, _ := serveProxy(t, p)

	out := rawExchange(t, addr, "GET / HTTP/1.0\r\nHost: app.test\r\nCookie: nonstop_bucket=05\r\n\r\n")
	if !strings.HasSuffix(out, "\r\n\r\nv2") || strings.Contains(out, "Set-Cookie") {
		t.Fatalf("bucket 5 at 10%%:\n%s", out)
	}
	out = rawExchange(t, addr, "GET / HTTP/1.0\r\nHost: app.test\r\nCookie: nonstop_bucket=30\r\n\r\n")
	if !strings.HasSuffix(out, "\r\n\r\nv1") {
		t.Fatalf("bucket 30 at 10%%:\n%s", out)
	}
	out = rawExchange(t, addr, "GET / HTTP/1.0\r\nHost: app.test\r\n\r\n")
	if !strings.Contains(out, "\r\nSet-Cookie: nonstop_bucket=") {
		t.Fatalf("new client: no bucket cookie:\n%s", out)
	}
	out = rawExchange(t, addr, "GET / HTTP/1.0\r\nHost: v2.app.test\r\n\r\n")
	if !strings.HasSuffix(out, "\r\n\r\nv2") || strings.Contains(out, "Set-Cookie") {
		t.Fatalf("preview:\n%s", out)
	}
}

func TestSplit_FastPathReadsTheBucketAmongOtherCookies(t *testing.T) {
	_, v1 := releaseBackend(t, 1)
	_, v2 := releaseBackend(t, 2)
	p := newTestProxy(t, Options{})
	setRoute(t, p, splitRoute(10, v1, v2))
	addr, _ := serveProxy(t, p)
	out := rawExchange(t, addr, "GET / HTTP/1.1\r\nHost: app.test\r\nCookie: a=1\r\ncookie: b=2;nonstop_bucket=7 ; c=3\r\nConnection: close\r\n\r\n")
	if !strings.HasSuffix(out, "\r\n\r\nv2") || strings.Contains(out, "Set-Cookie") {
		t.Fatalf("bucket 7 in the second Cookie header:\n%s", out)
	}
}

func TestParseBucketAndRelease(t *testing.T) {
	for in, want := range map[string]int{
		"nonstop_bucket=42":                    42,
		"nonstop_bucket=07":                    7,
		"nonstop_bucket=7":                     7,
		"a=1; nonstop_bucket=99; b=2":          99,
		"nonstop_bucket=100":                   -1,
		"nonstop_bucket=":                      -1,
		"nonstop_bucket=4x":                    -1,
		"xnonstop_bucket=4":                    -1,
		"nonstop_bucket=bad; nonstop_bucket=3": 3,
		"":                                     -1,
	} {
		if got := parseBucket(in); got != want {
			t.Errorf("parseBucket(%q) = %d, want %d", in, got, want)
		}
		if got := parseBucket([]byte(in)); got != want {
			t.Errorf("parseBucket([]byte(%q)) = %d, want %d", in, got, want)
		}
	}
	for in, want := range map[string]int{"7": 7, "v7": 7, "V12": 12, "v": -1, "": -1, "7a": -1, "-1": -1, "1234567890": -1} {
		if got := parseRelease(in); got != want {
			t.Errorf("parseRelease(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestState_SplitAndPreviewsSurviveARestart(t *testing.T) {
	_, v1 := releaseBackend(t, 1)
	_, v2 := releaseBackend(t, 2)
	file := filepath.Join(t.TempDir(), "proxy-state.json")
	route := splitRoute(25, v1, v2)
	route.Previews = map[string]int{"v2.app.test": 2, "v1.app.test": 1}

	first := newTestProxy(t, Options{StateFile: file})
	setRoute(t, first, route)
	route.Split.Weight, route.Previews["v2.app.test"] = 99, 9 // the caller's copy, not the proxy's
	route = splitRoute(25, v1, v2)
	route.Previews = map[string]int{"v2.app.test": 2, "v1.app.test": 1}
	if routes, _ := first.Routes(context.Background()); !reflect.DeepEqual(routes, []Route{route}) {
		t.Fatalf("Routes() = %+v, want %+v", routes, route)
	}
	first.Close()

	second := newTestProxy(t, Options{StateFile: file})
	if err := second.Load(); err != nil {
		t.Fatal(err)
	}
	if routes, _ := second.Routes(context.Background()); !reflect.DeepEqual(routes, []Route{route}) {
		t.Fatalf("loaded %+v, want %+v", routes, route)
	}
	addr, c := serveProxy(t, second)
	if code, body := get(t, c, addr, "v1.app.test", "/"); code != 200 || body != "v1" {
		t.Fatalf("preview after restart: %d %q", code, body)
	}
}

func TestValidate_SplitWeightsAndPreviewHosts(t *testing.T) {
	_, v1 := releaseBackend(t, 1)
	p := newTestProxy(t, Options{})
	setRoute(t, p, Route{App: "other", Hosts: []string{"other.test"}, Previews: map[string]int{"v3.other.test": 3}})
	for name, r := range map[string]Route{
		"weight below 0":                {Hosts: []string{"app.test"}, Split: &Split{Release: 2, Weight: -1}},
		"weight above 100":              {Hosts: []string{"app.test"}, Split: &Split{Release: 2, Weight: 101}},
		"preview host also a host":      {Hosts: []string{"app.test"}, Previews: map[string]int{"App.test.": 2}},
		"preview host twice":            {Hosts: []string{"app.test"}, Previews: map[string]int{"v2.app.test": 2, "V2.app.test:80": 2}},
		"preview host of another app":   {Hosts: []string{"app.test"}, Previews: map[string]int{"other.test": 2}},
		"preview host another's too":    {Hosts: []string{"app.test"}, Previews: map[string]int{"v3.other.test": 2}},
		"host another's preview host":   {Hosts: []string{"v3.other.test"}},
		"empty preview host":            {Hosts: []string{"app.test"}, Previews: map[string]int{"": 2}},
		"preview host a port alone ...": {Hosts: []string{"app.test"}, Previews: map[string]int{":80": 2}},
	} {
		r.App, r.Backends = "app", []Backend{v1}
		if err := p.SetRoute(context.Background(), r); !errors.Is(err, ErrInvalidRoute) {
			t.Errorf("%s: %v, want ErrInvalidRoute", name, err)
		}
	}
	for _, weight := range []int{0, 100} {
		setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{v1}, Split: &Split{Release: 2, Weight: weight},
			Previews: map[string]int{"v2.app.test": 2}})
	}
}
