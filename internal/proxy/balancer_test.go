package proxy

import "testing"

func entryOf(addrs ...string) *routeEntry {
	e := &routeEntry{}
	for _, a := range addrs {
		e.backends = append(e.backends, newBackend(a))
	}
	return e
}

func TestPick_RoundRobinWhenLoadsAreEqual(t *testing.T) {
	e := entryOf("a:1", "b:1", "c:1")
	seen := map[string]int{}
	for range 30 {
		seen[e.pick(nil).addr]++
	}
	for _, b := range e.backends {
		if seen[b.addr] != 10 {
			t.Fatalf("picks %v, want 10 each", seen)
		}
	}
}

func TestPick_LeastInFlightFirst(t *testing.T) {
	e := entryOf("a:1", "b:1", "c:1")
	e.backends[0].inflight.Store(3)
	e.backends[1].inflight.Store(1)
	e.backends[2].inflight.Store(2)
	for range 5 {
		if got := e.pick(nil).addr; got != "b:1" {
			t.Fatalf("picked %s, want b:1 (fewest in flight)", got)
		}
	}
}

func TestPick_SkipsUnhealthyAndTried(t *testing.T) {
	e := entryOf("a:1", "b:1", "c:1")
	e.backends[0].healthy.Store(false)
	tried := []*backend{e.backends[1]}
	for range 5 {
		if got := e.pick(tried).addr; got != "c:1" {
			t.Fatalf("picked %s, want c:1", got)
		}
	}
	// Every healthy one tried: the least loaded of them, rather than none.
	tried = append(tried, e.backends[2])
	e.backends[2].inflight.Store(1)
	if got := e.pick(tried).addr; got != "b:1" {
		t.Fatalf("picked %s, want b:1", got)
	}
	e.backends[1].healthy.Store(false)
	e.backends[2].healthy.Store(false)
	if b := e.pick(nil); b != nil || e.anyHealthy() {
		t.Fatalf("picked %v with no healthy backend", b)
	}
	if entryOf().pick(nil) != nil {
		t.Fatal("picked from an empty route")
	}
}
