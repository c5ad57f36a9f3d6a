package proxy

import (
	"testing"
	"time"
)

func TestRegistry_KeepsALeftBackendForTheRetentionThenPrunes(t *testing.T) {
	reg := registry{}
	now := time.Now()
	b := reg.acquire("a:1")
	b.healthy.Store(false)
	reg.release(b, now)
	reg.prune(now.Add(registryRetention / 2))
	if reg["a:1"] != b {
		t.Fatal("pruned before the retention")
	}
	if again := reg.acquire("a:1"); again != b || !b.healthy.Load() {
		t.Fatal("a backend coming back must keep its counters and start healthy")
	}
	reg.release(b, now)
	b.inflight.Store(1)
	reg.prune(now.Add(2 * registryRetention))
	if reg["a:1"] == nil {
		t.Fatal("pruned with a request in flight")
	}
	b.inflight.Store(0)
	reg.prune(now.Add(2 * registryRetention))
	if reg["a:1"] != nil {
		t.Fatal("not pruned")
	}
}
