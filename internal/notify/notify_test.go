package notify

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is a webhook endpoint on 127.0.0.1 that records what it gets
// and answers with the statuses in script (then 200).
type receiver struct {
	srv *httptest.Server

	mu      sync.Mutex
	script  []int
	bodies  [][]byte
	headers []http.Header
	got     chan struct{} // one send per request, when buffered room allows
}

func newReceiver(t *testing.T, script ...int) *receiver {
	t.Helper()
	r := &receiver{script: script, got: make(chan struct{}, 1024)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, body)
		r.headers = append(r.headers, req.Header.Clone())
		status := http.StatusOK
		if len(r.script) > 0 {
			status, r.script = r.script[0], r.script[1:]
		}
		r.mu.Unlock()
		select {
		case r.got <- struct{}{}:
		default:
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// hangingReceiver accepts requests and never answers until the test ends
// or the client gives up. started gets one send per request.
func hangingReceiver(t *testing.T) (url string, started <-chan struct{}) {
	t.Helper()
	release := make(chan struct{})
	ch := make(chan struct{}, 1024)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ch <- struct{}{}
		select {
		case <-release:
		case <-req.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv.URL, ch
}

func (r *receiver) events(t *testing.T) []Event {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, b := range r.bodies {
		var e Event
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("body %s: %v", b, err)
		}
		out = append(out, e)
	}
	return out
}

func (r *receiver) requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

var testTime = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// fast is the tuning for tests: millisecond backoff, a fixed clock.
func fast() tuning {
	return tuning{backoff: time.Millisecond, closeTimeout: 5 * time.Second, now: func() time.Time { return testTime }}
}

func newTest(t *testing.T, urls []string, opts Options, tune tuning) *Notifier {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	n, err := newNotifier(urls, opts, tune)
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	t.Cleanup(n.Close)
	return n
}

func TestNotify_PostsJSONWithTextToEveryURL(t *testing.T) {
	a, b := newReceiver(t), newReceiver(t)
	n := newTest(t, []string{a.srv.URL + "/hook", b.srv.URL}, Options{UserAgent: "nonstop-test"}, fast())

	n.Notify(Event{Kind: KindRolledBack, App: "hello", Rollout: 7, Release: 3, From: 2,
		Strategy: "canary", Step: 1, Reason: "canary analysis failed: 5xx rate 12%"})
	n.Close()

	want := Event{Kind: "rolled_back", App: "hello", Rollout: 7, Release: 3, From: 2,
		Strategy: "canary", Step: 1, Reason: "canary analysis failed: 5xx rate 12%", Time: testTime,
		Text: "hello: rollout #7 to v3 rolled back: canary analysis failed: 5xx rate 12%"}
	for name, r := range map[string]*receiver{"a": a, "b": b} {
		evs := r.events(t)
		if len(evs) != 1 || evs[0] != want {
			t.Fatalf("%s got %+v, want [%+v]", name, evs, want)
		}
		h := r.headers[0]
		if ct := h.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s Content-Type %q", name, ct)
		}
		if ua := h.Get("User-Agent"); ua != "nonstop-test" {
			t.Errorf("%s User-Agent %q", name, ua)
		}
		var raw map[string]any
		_ = json.Unmarshal(r.bodies[0], &raw)
		if _, ok := raw["text"].(string); !ok {
			t.Errorf("%s: no string \"text\" field for Slack in %s", name, r.bodies[0])
		}
	}
	if n.Failed() != 0 || n.Dropped() != 0 {
		t.Errorf("failed %d dropped %d", n.Failed(), n.Dropped())
	}
}

func TestNotify_KeepsGivenTextAndTime(t *testing.T) {
	r := newReceiver(t)
	n := newTest(t, []string{r.srv.URL}, Options{}, fast())
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	n.Notify(Event{Kind: KindSucceeded, App: "hello", Text: "custom", Time: at})
	n.Close()
	evs := r.events(t)
	if len(evs) != 1 || evs[0].Text != "custom" || !evs[0].Time.Equal(at) {
		t.Fatalf("got %+v", evs)
	}
}

func TestNotify_DeliversInOrder(t *testing.T) {
	r := newReceiver(t, 500, 200, 500) // retries must not reorder either
	n := newTest(t, []string{r.srv.URL}, Options{}, fast())
	for i := 1; i <= 30; i++ {
		n.Notify(Event{Kind: KindStepPassed, App: "hello", Rollout: 1, Step: i})
	}
	n.Close()
	evs := r.events(t)
	var steps []int
	for _, e := range evs {
		if len(steps) == 0 || steps[len(steps)-1] != e.Step { // a retried event arrives twice in a row
			steps = append(steps, e.Step)
		}
	}
	if len(steps) != 30 {
		t.Fatalf("got %d distinct events: %v", len(steps), steps)
	}
	for i, s := range steps {
		if s != i+1 {
			t.Fatalf("out of order: %v", steps)
		}
	}
}

func TestNotify_RetriesServerErrorsAndDeliversOnThirdAttempt(t *testing.T) {
	r := newReceiver(t, 500, 503)
	n := newTest(t, []string{r.srv.URL}, Options{}, fast())
	n.Notify(Event{Kind: KindSucceeded, App: "hello", Rollout: 1})
	n.Close()
	if got := r.requests(); got != 3 {
		t.Fatalf("requests = %d, want 3", got)
	}
	if n.Failed() != 0 {
		t.Fatalf("failed = %d, want 0", n.Failed())
	}
}

func TestNotify_GivesUpAfterAttempts(t *testing.T) {
	r := newReceiver(t, 500, 500, 500, 500, 500)
	n := newTest(t, []string{r.srv.URL}, Options{Attempts: 2}, fast())
	n.Notify(Event{Kind: KindSucceeded, App: "hello", Rollout: 1})
	n.Close()
	if got := r.requests(); got != 2 {
		t.Fatalf("requests = %d, want 2", got)
	}
	if n.Failed() != 1 {
		t.Fatalf("failed = %d, want 1", n.Failed())
	}
}

func TestNotify_DoesNotRetryClientErrors(t *testing.T) {
	r := newReceiver(t, 400)
	n := newTest(t, []string{r.srv.URL}, Options{}, fast())
	n.Notify(Event{Kind: KindSucceeded, App: "hello", Rollout: 1})
	n.Close()
	if got := r.requests(); got != 1 {
		t.Fatalf("requests = %d, want 1", got)
	}
	if n.Failed() != 1 {
		t.Fatalf("failed = %d, want 1", n.Failed())
	}
}

func TestNotify_BoundsEachAttemptByTimeout(t *testing.T) {
	url, started := hangingReceiver(t)
	n := newTest(t, []string{url}, Options{Timeout: 50 * time.Millisecond, Attempts: 2}, fast())
	start := time.Now()
	n.Notify(Event{Kind: KindSucceeded, App: "hello", Rollout: 1})
	n.Close()
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("two 50ms attempts took %s", took)
	}
	if len(started) != 2 || n.Failed() != 1 {
		t.Fatalf("attempts %d failed %d, want 2 and 1", len(started), n.Failed())
	}
}

func TestNotify_NeverBlocksWhenReceiverHangs(t *testing.T) {
	url, started := hangingReceiver(t)
	tune := fast()
	tune.closeTimeout = 100 * time.Millisecond
	n := newTest(t, []string{url}, Options{QueueSize: 2, Timeout: time.Hour}, tune)

	n.Notify(Event{Kind: KindStarted, App: "hello", Rollout: 1})
	<-started // the first event is in flight and will hang
	start := time.Now()
	for i := range 5 {
		n.Notify(Event{Kind: KindStepPassed, App: "hello", Rollout: 1, Step: i + 1})
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("5 Notify calls took %s", took)
	}
	if got := n.Dropped(); got != 3 {
		t.Fatalf("dropped = %d, want 3 (queue of 2 full)", got)
	}

	start = time.Now()
	n.Close()
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Close took %s with a hanging receiver", took)
	}
	if got := n.Dropped(); got != 5 {
		t.Fatalf("dropped after Close = %d, want 5 (2 left in the queue)", got)
	}
	n.Notify(Event{Kind: KindSucceeded}) // after Close: dropped, no panic
	if got := n.Dropped(); got != 6 {
		t.Fatalf("dropped after Notify on a closed notifier = %d, want 6", got)
	}
}

func TestClose_DeliversTheQueue(t *testing.T) {
	var mu sync.Mutex
	var got []int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		time.Sleep(2 * time.Millisecond) // a slow receiver, so the queue builds up
		var e Event
		_ = json.NewDecoder(req.Body).Decode(&e)
		mu.Lock()
		got = append(got, e.Step)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	n := newTest(t, []string{srv.URL}, Options{}, fast())
	for i := range 50 {
		n.Notify(Event{Kind: KindStepPassed, Step: i + 1})
	}
	n.Close()
	n.Close() // idempotent
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 50 || n.Dropped() != 0 {
		t.Fatalf("delivered %d of 50, dropped %d", len(got), n.Dropped())
	}
}

func TestNew_RejectsBadURLs(t *testing.T) {
	const secret = "T000/B000/XXXXSECRETXXXX"
	bad := []string{
		"",
		"ftp://hooks.example.com/services/" + secret,
		"hooks.slack.com/services/" + secret,
		"https:///services/" + secret,
		"http://[::1/services/" + secret,
		"https://hooks.example.com/\x7f/" + secret,
	}
	for _, u := range bad {
		_, err := New([]string{"https://ok.example.com/hook", u}, Options{})
		if err == nil {
			t.Errorf("New(%q) accepted", u)
			continue
		}
		if !strings.Contains(err.Error(), "webhook 2") {
			t.Errorf("error %q does not say which webhook", err)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q contains the URL's secret path", err)
		}
	}
	if _, err := New([]string{"http://127.0.0.1:9/x"}, Options{Attempts: -1}); err == nil {
		t.Errorf("negative attempts accepted")
	}
}

func TestNotifier_NilOrWithoutURLsDoesNothing(t *testing.T) {
	var nilN *Notifier
	nilN.Notify(Event{Kind: KindStarted})
	nilN.Close()
	if nilN.Dropped() != 0 || nilN.Failed() != 0 {
		t.Fatal("nil notifier counted something")
	}
	n, err := New(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	n.Notify(Event{Kind: KindStarted})
	n.Close()
	if n.Dropped() != 0 {
		t.Fatal("empty notifier dropped")
	}
}

func TestLogs_NameTheHostButNeverThePathOrQuery(t *testing.T) {
	const secret, token = "T000/B000/XXXXSECRETXXXX", "TOKENXXXX"
	refused := newReceiver(t, 400)
	failing := newReceiver(t, 500, 500, 500)
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close() // connection refused: a network error, which quotes the URL
	url, _ := hangingReceiver(t)

	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	urls := []string{
		refused.srv.URL + "/services/" + secret + "?token=" + token,
		failing.srv.URL + "/services/" + secret + "?token=" + token,
		downURL + "/services/" + secret + "?token=" + token,
		url + "/services/" + secret + "?token=" + token,
	}
	tune := fast()
	tune.closeTimeout = 500 * time.Millisecond
	n := newTest(t, urls, Options{Logger: logger, QueueSize: 1, Timeout: 100 * time.Millisecond}, tune)
	for range 4 { // some delivered, some dropped as the queue fills
		n.Notify(Event{Kind: KindFailed, App: "hello", Rollout: 1, Reason: "boom"})
	}
	n.Close()

	mu.Lock()
	out := buf.String()
	mu.Unlock()
	for _, leak := range []string{secret, token, "/services/"} {
		if strings.Contains(out, leak) {
			t.Errorf("log contains %q:\n%s", leak, out)
		}
	}
	host := strings.TrimPrefix(refused.srv.URL, "http://")
	if !strings.Contains(out, "host="+host) || !strings.Contains(out, "status 400") {
		t.Errorf("log does not name the refusing host and status:\n%s", out)
	}
	if !strings.Contains(out, "connection refused") {
		t.Errorf("log does not show the network error:\n%s", out)
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
