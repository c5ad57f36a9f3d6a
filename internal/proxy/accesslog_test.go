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
	// The line is recorded once the answer is written, so just after the
	// client has it; the log writes it out at its next flush.
	eventually(t, 5*time.Second, "the access log line", func() bool { return out.String() != "" })
	cancel()
	log.Wait()

	var line struct {
		Time     string  `json:"time"`
		App      string  `json:"app"`
		Release  int     `json:"release"`
		Status   int     `json:"status"`
		Duration float64 `json:"duration_ms"`
		Method   string  `json:"method"`
		Target   string  `json:"target"`
		ID       string  `json:"request_id"`
		Client   string  `json:"client"`
	}
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

func TestAccessLog_DropsRatherThanWaitsAndSaysHowMany(t *testing.T) {
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	log := NewAccessLog(ctx, &out)
	r := &accessRecord{at: time.Now(), app: "app", status: 200, method: []byte("GET"), target: []byte(strings.Repeat("x", 1000))}
	start := time.Now()
	n := 0
	for log.Dropped() == 0 {
		log.record(r)
		if n++; n > 100000 {
			t.Fatal("the buffer never filled")
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("recording took %s", d)
	}
	cancel()
	log.Wait()
	if !strings.Contains(out.String(), `"dropped":`) {
		t.Fatal("the log does not say lines were dropped")
	}
}

func TestAccessLog_EscapesWhatClientsSend(t *testing.T) {
	r := &accessRecord{at: time.Unix(0, 0), app: "app", status: 404, method: []byte("GET"),
		target: []byte("/a\"b\x01\xffé"), id: []byte("x"), client: []byte("127.0.0.1")}
	var line map[string]any
	if err := json.Unmarshal(r.appendJSON(nil), &line); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if line["target"] != "/a\"b\x01\ufffdé" {
		t.Fatalf("target %q", line["target"])
	}
}
