package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// heldRequests sends requests through the proxy, each on its own
// connection and goroutine, and collects what each got.
type heldRequests struct {
	c      *cluster
	client *http.Client
	epoch  time.Time    // when the first request was sent
	done   atomic.Int64 // answers so far, in the order they came
	wg     sync.WaitGroup

	mu      sync.Mutex
	answers []heldAnswer // by send order
}

type heldAnswer struct {
	code       int
	body       string
	retryAfter string
	err        error
	sent, took time.Duration // since the first send; how long it waited
	finished   int64         // 1 for the first answer back, ...
}

func newHeldRequests(c *cluster) *heldRequests {
	// Every request gets its own connection, so none queues behind another
	// in the client; the timeout only bounds a test gone wrong.
	tr := &http.Transport{DisableKeepAlives: true}
	c.t.Cleanup(tr.CloseIdleConnections)
	return &heldRequests{c: c, client: &http.Client{Transport: tr, Timeout: 3 * time.Minute}}
}

// send starts one request to hello and returns at once.
func (h *heldRequests) send() {
	h.mu.Lock()
	i := len(h.answers)
	h.answers = append(h.answers, heldAnswer{})
	if i == 0 {
		h.epoch = time.Now()
	}
	epoch := h.epoch
	h.mu.Unlock()
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		start := time.Now()
		a := heldAnswer{sent: start.Sub(epoch)}
		req, _ := http.NewRequest("GET", "http://"+h.c.http+"/", nil)
		req.Host = "hello.localhost"
		resp, err := h.client.Do(req)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			a.code, a.body, a.retryAfter, err = resp.StatusCode, string(b), resp.Header.Get("Retry-After"), rerr
		}
		a.err, a.took, a.finished = err, time.Since(start), h.done.Add(1)
		h.mu.Lock()
		h.answers[i] = a
		h.mu.Unlock()
	}()
}

// answered is how many requests have had their answer.
func (h *heldRequests) answered() int64 { return h.done.Load() }

// wait waits (bounded) for every answer and returns them in send order.
func (h *heldRequests) wait(t *testing.T, timeout time.Duration) []heldAnswer {
	t.Helper()
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		t.Fatalf("%d of %d held requests still unanswered %s after they were let through", int64(len(h.answers))-h.answered(), len(h.answers), timeout)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]heldAnswer(nil), h.answers...)
}

// outOfOrder counts answers that came back before an answer to a request
// sent earlier: a measure (not a check) of first-come-first-served, since
// released requests then race each other to the instances.
func outOfOrder(as []heldAnswer) int {
	n := 0
	for i := 1; i < len(as); i++ {
		if as[i].finished < as[i-1].finished {
			n++
		}
	}
	return n
}

// checkAllServed fails the test unless every answer is a 200 from version v.
func checkAllServed(t *testing.T, as []heldAnswer, v string) {
	t.Helper()
	failed := 0
	for i, a := range as {
		if a.err != nil || a.code != 200 || !strings.Contains(a.body, "from v"+v) {
			failed++
			if failed <= 5 {
				t.Errorf("held request %d (sent at %s): %d %q %v; want 200 from v%s", i, a.sent, a.code, strings.TrimSpace(a.body), a.err, v)
			}
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d held requests failed", failed, len(as))
	}
}

// `nonstop hold` holds every request (none answered, none lost) until
// `nonstop unhold` lets them all through; past --max-wait a request gets a
// 503 naming the app with Retry-After; and a deploy during a hold keeps
// holding, the held requests then going to the new release.
func TestHold_RequestsWaitForUnholdAndNoneIsLostEvenAcrossADeploy(t *testing.T) {
	c := newCluster(t)
	c.mustRun("apps", "create", "hello")
	c.mustRun("deploy", appSource(t, helloSpec("1", "20s")))
	ctx := context.Background()

	if out, code := c.run("hold", "hello", "--max-wait", "11m"); code == 0 || !strings.Contains(out, "max wait") {
		t.Errorf("hold --max-wait 11m: exit %d\n%s; want a refusal naming the bound", code, out)
	}
	if out, code := c.run("hold", "nope"); code == 0 || !strings.Contains(out, "nope") {
		t.Errorf("hold of an unknown app: exit %d\n%s", code, out)
	}

	// 1. Fifty requests held for a second, then all let through.
	out := c.mustRun("hold", "hello", "--max-wait", "20s")
	if !strings.Contains(out, "held") || !strings.Contains(out, "20s") {
		t.Errorf("hold output:\n%s", out)
	}
	if st, err := c.client().Status(ctx, "hello"); err != nil || st.Hold == nil || st.Hold.MaxWait != 20*time.Second {
		t.Errorf("status during the hold: hold %+v, err %v", st.Hold, err)
	}
	held := newHeldRequests(c)
	const n = 50
	for range n {
		held.send()
		time.Sleep(2 * time.Millisecond) // so that they reach the proxy in send order
	}
	time.Sleep(time.Second)
	if got := held.answered(); got != 0 {
		t.Fatalf("%d of %d requests answered during the hold; want none", got, n)
	}
	unheldAt := time.Now()
	out = c.mustRun("unhold", "hello")
	if !strings.Contains(out, "go through") {
		t.Errorf("unhold output:\n%s", out)
	}
	as := held.wait(t, 20*time.Second)
	checkAllServed(t, as, "1")
	var longest time.Duration
	for _, a := range as {
		longest = max(longest, a.took)
	}
	t.Logf("hold 1: %d requests held ≥1s, all 200 after unhold (all answered within %s of running unhold; longest wait %s; %d answers back before an earlier-sent one)",
		n, time.Since(unheldAt).Round(time.Millisecond), longest.Round(time.Millisecond), outOfOrder(as))

	// 2. Past --max-wait: 503 naming the app, with Retry-After.
	c.mustRun("hold", "hello", "--max-wait", "1s")
	start := time.Now()
	req, _ := http.NewRequest("GET", "http://"+c.http+"/", nil)
	req.Host = "hello.localhost"
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatalf("request held past --max-wait: %v; want a 503", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "hello") || resp.Header.Get("Retry-After") == "" {
		t.Errorf("request held past --max-wait 1s: %d %q Retry-After %q; want 503 naming the app, with Retry-After", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	if took < 900*time.Millisecond {
		t.Errorf("503 after %s: the request did not wait its second", took)
	}
	t.Logf("hold 2 (--max-wait 1s): 503 after %s, Retry-After %q, body %q", took.Round(time.Millisecond), resp.Header.Get("Retry-After"), strings.TrimSpace(string(body)))
	c.mustRun("unhold", "hello")
	assertServes(t, c, "1")

	// 3. A deploy during a hold: it goes live, the route keeps holding, and
	// the requests held before and during it are answered by v2 after unhold.
	c.mustRun("hold", "hello", "--max-wait", "2m")
	during := newHeldRequests(c)
	for range 10 {
		during.send()
	}
	deployed := make(chan struct{})
	var senders sync.WaitGroup
	senders.Add(1)
	go func() { // one more request every 200ms while the deploy runs (at most 100)
		defer senders.Done()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for range 100 {
			select {
			case <-deployed:
				return
			case <-tick.C:
				during.send()
			}
		}
	}()
	deployStart := time.Now()
	out, code := c.run("deploy", appSource(t, helloSpec("2", "20s")))
	close(deployed)
	senders.Wait()
	if code != 0 {
		t.Fatalf("deploy of v2 during a hold: exit %d\n%s", code, out)
	}
	deployTook := time.Since(deployStart)
	time.Sleep(500 * time.Millisecond)
	if got := during.answered(); got != 0 {
		t.Fatalf("%d requests answered during a hold across a deploy; want none (the new route must keep the hold)", got)
	}
	if st, err := c.client().Status(ctx, "hello"); err != nil || st.Hold == nil || st.LiveRelease != 2 {
		t.Errorf("status after the deploy: live v%d, hold %+v, err %v; want v2, still held", st.LiveRelease, st.Hold, err)
	}
	c.mustRun("unhold", "hello")
	as = during.wait(t, 20*time.Second)
	checkAllServed(t, as, "2")
	t.Logf("hold 3: deploy of v2 took %s during the hold; %d requests sent before and during it, all answered 200 by v2 after unhold",
		deployTook.Round(time.Millisecond), len(as))
	assertServes(t, c, "2")
}
