package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/client"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/wire"
)

// sse is one Server-Sent Event.
type sse struct {
	id, event, data string
}

// readSSE reads an event stream to its end (bounded by the client timeout).
func (s *server) readSSE(path, lastID string) (int, string, []sse) {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.api.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	c := &http.Client{Timeout: 40 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []sse
	var cur sse
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.data != "" || cur.event != "" {
				out = append(out, cur)
			}
			cur = sse{}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			cur.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			cur.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data += strings.TrimPrefix(line, "data: ")
		default:
			s.t.Errorf("not an SSE line: %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		s.t.Errorf("event stream broke: %v", err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), out
}

func TestAPI_EventStreamEndsWithTheEndEventAndTheRolloutState(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	s.createApp("hello")
	ro, err := s.deploy(s.admin, "hello", 1)
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/api/v1/apps/hello/deploys/%d/events", ro.ID)
	code, ctype, events := s.readSSE(path, "")
	if code != 200 || !strings.HasPrefix(ctype, "text/event-stream") {
		t.Fatalf("events: %d %s", code, ctype)
	}
	if len(events) < 3 {
		t.Fatalf("only %d events", len(events))
	}
	last := events[len(events)-1]
	if last.event != "end" {
		t.Fatalf("the stream does not end with an end event: %+v", last)
	}
	var end wire.Rollout
	if err := json.Unmarshal([]byte(last.data), &end); err != nil {
		t.Fatalf("end event data %q: %v", last.data, err)
	}
	if end.ID != ro.ID || end.State != wire.RolloutDone || end.ToRelease != 1 {
		t.Errorf("end event carries %+v, want rollout #%d done to v1", end, ro.ID)
	}
	var prev int64
	var states []string
	for _, e := range events[:len(events)-1] {
		id, err := strconv.ParseInt(e.id, 10, 64)
		if err != nil || id <= prev {
			t.Errorf("event id %q not increasing after %d", e.id, prev)
		}
		prev = id
		var ev wire.Event
		if err := json.Unmarshal([]byte(e.data), &ev); err != nil {
			t.Errorf("event data %q: %v", e.data, err)
			continue
		}
		if ev.ID != id || ev.Kind != e.event || ev.RolloutID != ro.ID {
			t.Errorf("event %+v under id %s event %s", ev, e.id, e.event)
		}
		if ev.Kind == "state" {
			states = append(states, fmt.Sprint(ev.Data["state"]))
		}
	}
	if len(states) == 0 || states[len(states)-1] != "done" {
		t.Errorf("state events %v do not end with done", states)
	}

	// Resuming after an event gives only the later ones, then the end.
	mid := events[len(events)/2]
	_, _, rest := s.readSSE(path, mid.id)
	if len(rest) != len(events)-len(events)/2-1 || rest[0].id != events[len(events)/2+1].id || rest[len(rest)-1].event != "end" {
		t.Errorf("resumed after id %s: %d events starting %+v; want the %d after it", mid.id, len(rest), rest[0], len(events)-len(events)/2-1)
	}

	// The client follows the same stream to the same end.
	var seen int
	got, err := s.admin.Follow(ctx, "hello", ro.ID, func(wire.Event) { seen++ })
	if err != nil || got.State != wire.RolloutDone || seen != len(events)-1 {
		t.Errorf("Follow = %+v %v after %d events, want done after %d", got, err, seen, len(events)-1)
	}
}

func TestAPI_EventStreamOfAFailedRolloutEndsWithItsReason(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	s.createApp("hello")
	ro, err := s.deploy(s.admin, "hello", 1, `CRASH_ON_START: "1"`)
	if err != nil {
		t.Fatal(err)
	}
	end, err := s.admin.Follow(ctx, "hello", ro.ID, func(wire.Event) {})
	if err != nil {
		t.Fatal(err)
	}
	if end.State != wire.RolloutRolledBack || !strings.Contains(end.Reason, "CRASH_ON_START") {
		t.Errorf("end = %s %q; want rolled_back with the instance's last log lines", end.State, end.Reason)
	}
}

func TestAPI_EventStreamOfAnotherTeamsRolloutIs404(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	s.createApp("hello")
	ro := s.deployLive("hello", 1)
	mia := s.member("mia", "payments")
	if _, err := mia.Follow(ctx, "hello", ro.ID, func(wire.Event) {}); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("member follows another team's rollout: %v, want 404", err)
	}
}

// A state change and its "state" event are written in one transaction, so
// a stream that sees the rollout's final state has all its events: even the
// last ones, written while the stream was polling.
func TestAPI_EventStreamDeliversEveryEventUpToTheFinalState(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	s.createApp("hello")
	app, err := s.st.App(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	ro, err := s.st.CreateRollout(ctx, store.Rollout{AppID: app.ID, Kind: store.KindDeploy, Strategy: "rolling"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.st.Transition(ctx, ro.ID, store.RolloutStarting, 0, ""); err != nil {
		t.Fatal(err)
	}
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		time.Sleep(300 * time.Millisecond)
		s.st.Transition(ctx, ro.ID, store.RolloutRollingBack, 1, "instance x: exited with code 1")
		s.st.TransitionNote(ctx, ro.ID, store.RolloutRolledBack, 1, "", "no release was live before: nothing serves")
	}()
	var got []string
	end, err := s.admin.Follow(ctx, "hello", ro.ID, func(e wire.Event) { got = append(got, e.Message) })
	<-wrote
	if err != nil {
		t.Fatal(err)
	}
	if end.State != wire.RolloutRolledBack {
		t.Errorf("end state %s", end.State)
	}
	id := fmt.Sprintf("rollout #%d: ", ro.ID)
	want := []string{id + "starting", id + "rolling_back: instance x: exited with code 1", id + "rolled_back; no release was live before: nothing serves"}
	if strings.Join(got, " | ") != strings.Join(want, " | ") {
		t.Errorf("stream delivered %q before its end, want %q", got, want)
	}
}
