package proxy

import (
	"bufio"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
)

// Canary splits, forced releases and preview hosts, as requests see them.
// Everything here runs per request on both paths: it reads the immutable
// table and the request's headers, and allocates nothing for a client that
// already has its bucket.

const (
	// bucketCookie keeps a client's bucket, 0..99, for a route's Split.
	bucketCookie = "nonstop_bucket"
	// bucketCookieAttrs follow the bucket in the Set-Cookie header.
	bucketCookieAttrs = "; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax"
	// releaseHeader sends a request to a release (N or vN), for testers.
	releaseHeader = "X-Nonstop-Release"
)

// group is some of a route's backends, with their own round-robin start.
type group struct {
	backends []*backend
	next     atomic.Uint64
}

func (g *group) pick(tried []*backend) (best, fallback *backend) {
	return pickFrom(g.backends, &g.next, tried)
}

// healthy reports whether g has a backend that may take a request; a nil
// group has none.
func (g *group) healthy() bool { return g != nil && anyHealthy(g.backends) }

// target says which of its route's backends a request goes to. It is
// decided once per request and resolved against the route as it is at
// each attempt, so a retry after a route change still honours it.
type target struct {
	kind    targetKind
	release int
}

type targetKind uint8

const (
	anyRelease    targetKind = iota // every backend of the route
	onlyRelease                     // the backends of release: canary or forced
	otherReleases                   // the backends of other releases: stable
)

// choose decides where a request to e goes, from the release it forces
// (-1: none) and the client's bucket (-1: none, or a bad one). setBucket is
// the bucket to give the client in a cookie, -1 for none: a route with a
// Split gives a new client a random one. A preview host serves its release
// alone, with no bucket.
func (e *routeEntry) choose(force, bucket int) (t target, setBucket int) {
	setBucket = -1
	if e.preview {
		return target{}, -1
	}
	s := e.route.Split
	if s != nil && bucket < 0 {
		bucket = rand.IntN(100)
		setBucket = bucket
	}
	switch {
	case force >= 0 && s != nil && s.Weight > 0 && s.Weight < 100 && e.releases[force].healthy():
		// Testers may pick a side of a canary in progress, and only that:
		// never a release no client is meant to reach (a blue-green set
		// before its promotion, an old set kept warm), which would let
		// anyone bypass the rollout. Previews are for those.
		t = target{onlyRelease, force}
	case s == nil:
	case bucket < s.Weight:
		t = target{onlyRelease, s.Release}
	default:
		t = target{otherReleases, s.Release}
	}
	return t, setBucket
}

// pickFor chooses the backend for one attempt of a request bound for t:
// an untried healthy backend of t's group; else one of another group,
// rather than failing; else a tried one of t's group, then of any group
// (see pick).
func (e *routeEntry) pickFor(t target, tried []*backend) *backend {
	var g *group
	switch t.kind {
	case onlyRelease:
		g = e.releases[t.release]
	case otherReleases:
		if s := e.route.Split; s != nil && s.Release == t.release {
			g = e.stable
		}
	}
	if g == nil {
		return e.pick(tried)
	}
	best, fallback := g.pick(tried)
	if best != nil {
		return best
	}
	other, otherFallback := pickFrom(e.backends, &e.next, tried)
	switch {
	case other != nil:
		return other
	case fallback != nil:
		return fallback
	}
	return otherFallback
}

// parseBucket finds the bucket in a Cookie header's value (pairs separated
// by ';'): -1 when it holds none, or only bad ones (the client then gets a
// new one).
func parseBucket[T string | []byte](v T) int {
	const name = bucketCookie + "="
	for i := 0; i < len(v); {
		for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
			i++
		}
		j := i
		for j < len(v) && v[j] != ';' {
			j++
		}
		end := j
		for end > i && (v[end-1] == ' ' || v[end-1] == '\t') {
			end--
		}
		if end-i > len(name) && hasPrefix(v[i:end], name) {
			if n, ok := parseSmall(v[i+len(name) : end]); ok && n < 100 && end-i-len(name) <= 2 {
				return n
			}
		}
		i = j + 1
	}
	return -1
}

// parseRelease parses the release header's value, N or vN: -1 when bad.
func parseRelease[T string | []byte](v T) int {
	if len(v) > 0 && (v[0] == 'v' || v[0] == 'V') {
		v = v[1:]
	}
	if n, ok := parseSmall(v); ok && len(v) <= 9 {
		return n
	}
	return -1
}

// parseSmall parses 1 to 9 decimal digits.
func parseSmall[T string | []byte](v T) (int, bool) {
	if len(v) == 0 || len(v) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
		n = n*10 + int(v[i]-'0')
	}
	return n, true
}

func hasPrefix[T string | []byte](v T, prefix string) bool {
	if len(v) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if v[i] != prefix[i] {
			return false
		}
	}
	return true
}

// bucketOf returns the bucket in a request's cookies, -1 for none.
func bucketOf(h http.Header) int {
	for _, v := range h["Cookie"] {
		if b := parseBucket(v); b >= 0 {
			return b
		}
	}
	return -1
}

// forcedRelease returns the release a request's header forces, -1 for none.
func forcedRelease(h http.Header) int {
	if v := h[releaseHeader]; len(v) > 0 {
		return parseRelease(v[0])
	}
	return -1
}

// bucketCookieValue is the Set-Cookie value that gives a client bucket b.
func bucketCookieValue(b int) string {
	return bucketCookie + "=" + strconv.Itoa(b/10) + strconv.Itoa(b%10) + bucketCookieAttrs
}

// writeBucketCookie writes the Set-Cookie header line for bucket b.
func writeBucketCookie(w *bufio.Writer, b int) {
	w.WriteString("Set-Cookie: " + bucketCookie + "=")
	w.WriteByte('0' + byte(b/10))
	w.WriteByte('0' + byte(b%10))
	w.WriteString(bucketCookieAttrs + "\r\n")
}
