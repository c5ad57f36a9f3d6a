package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestAccessLog_OneJSONLinePerRequestWithTheRequestIDTheBackendSaw(t *testing.T) {
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	log := NewAccessLog(ctx, &out)
	be := startBackend(t, "b", nil)
	p := newTestProxy(t, Options{AccessLog: log})
	setRoute(t, p, Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{{ID: "b", Addr: be.addr, Release: 7}}})
	addr, c := serveProxy(t, p)

	_, _, hdr := do(t, c, http.MethodGet, addr, "app.test", "/path?q=1", nil, nil)
	seen := be.lastRequest().Header.Get("X-Request-Id")
	if seen == "" || hdr.Get("X-Request-Id") != seen {
		t.Fatalf("backend saw request id %q, the client got %q", seen, hdr.Get("X-Request-Id"))
	}
	cancel()
	log.Wait()

	var line accessLine
	if err := json.Unmarshal([]byte(strings.TrimSpace(out.String())), &line); err != nil {
		t.Fatalf("access log %q: %v", out.String(), err)
	}
	if line.App != "app" || line.Release != 7 || line.Status != 200 || line.Method != "GET" || line.Target != "/path?q=1" ||
		line.ID != seen || line.Client != "127.0.0.1" || line.Duration <= 0 {
		t.Fatalf("access log line: %+v", line)
	}
	if _, err := time.Parse(time.RFC3339Nano, line.Time); err != nil {
		t.Fatalf("time %q: %v", line.Time, err)
	}
}

func TestAccessLog_DropsRatherThanWaits(t *testing.T) {
	log := &AccessLog{ch: make(chan accessRecord, 1), done: make(chan struct{})}
	r := &accessRecord{}
	start := time.Now()
	for range 1000 {
		log.record(r)
	}
	if log.Dropped() != 999 || time.Since(start) > time.Second {
		t.Fatalf("dropped %d in %s", log.Dropped(), time.Since(start))
	}
}
