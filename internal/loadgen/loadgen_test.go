package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoad_CountsEveryResponseAndFailure(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "app.localhost" {
			t.Errorf("host %q", r.Host)
		}
		if n.Add(1)%10 == 0 {
			http.Error(w, "boom", http.StatusBadGateway)
			return
		}
		w.Header().Set("X-Version", "7")
	}))
	defer srv.Close()
	l := Start(context.Background(), Config{URL: srv.URL, Host: "app.localhost", Workers: 2, SlowPath: "/slow", SlowWorkers: 1})
	time.Sleep(200 * time.Millisecond)
	res := l.Stop()
	if res.Sent == 0 || res.Sent != res.OK+res.Failed {
		t.Fatalf("sent %d != ok %d + failed %d", res.Sent, res.OK, res.Failed)
	}
	if res.Failed == 0 || len(res.Errors) == 0 || res.Versions["v7"] != res.OK {
		t.Fatalf("failures or versions not counted: %+v", res)
	}
	if res.Slow == 0 {
		t.Fatal("slow worker sent nothing")
	}
}

func TestLoad_StopsByItselfAfterMaxDuration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	l := Start(context.Background(), Config{URL: srv.URL, Workers: 1, MaxDuration: 100 * time.Millisecond})
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("load did not stop by itself")
	}
}
