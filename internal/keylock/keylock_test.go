package keylock

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestMap_OneHolderPerKeyOthersConcurrent(t *testing.T) {
	var k Map
	var inA, maxA atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := k.Lock(context.Background(), "a")
			if err != nil {
				t.Error(err)
				return
			}
			n := inA.Add(1)
			for {
				m := maxA.Load()
				if n <= m || maxA.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			inA.Add(-1)
			unlock()
		}()
	}
	unlockB, err := k.Lock(context.Background(), "b") // another key is never blocked by a
	if err != nil {
		t.Fatal(err)
	}
	unlockB()
	wg.Wait()
	if maxA.Load() != 1 {
		t.Fatalf("%d held key a at once", maxA.Load())
	}
	if len(k.m) != 0 {
		t.Fatalf("entries left: %v", k.m)
	}
}

func TestMap_WaitingEndsWithTheContext(t *testing.T) {
	var k Map
	unlock, _ := k.Lock(context.Background(), "a")
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := k.Lock(ctx, "a"); err == nil {
		t.Fatal("a second holder got the lock")
	}
}
