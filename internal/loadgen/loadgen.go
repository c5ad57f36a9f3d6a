// Package loadgen sends a bounded HTTP load at an app through nonstop's
// proxy and counts every response: the demo's and the tests' proof that a
// rollout drops nothing. It only ever targets the address it is given,
// which callers keep on loopback.
package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config is a load.
type Config struct {
	URL     string // proxy base URL, e.g. http://127.0.0.1:8080
	Host    string // Host header, e.g. hello.localhost
	Workers int    // concurrent clients sending back to back (default 4)
	// SlowPath, when set, is requested by SlowWorkers more clients in a
	// loop: long requests that are in flight during cut-overs.
	SlowPath    string
	SlowWorkers int
	// PostPath, when set, gets POSTs of a PostBytes body (default 512)
	// from PostWorkers more clients in a loop.
	PostPath    string
	PostWorkers int
	PostBytes   int
	// Pause between two requests of one worker (default none).
	Pause time.Duration
	// MaxDuration bounds the load even if ctx never ends (default 10m).
	MaxDuration time.Duration
}

// Result counts what the load saw.
type Result struct {
	Sent     int64            `json:"sent"`
	OK       int64            `json:"ok"`
	Failed   int64            `json:"failed"`
	Slow     int64            `json:"slow_ok"`
	Posts    int64            `json:"posts_ok"`
	Versions map[string]int64 `json:"versions"`
	Errors   []string         `json:"errors,omitempty"` // the first few failures, for the report
}

// Load is a running load; Stop ends it and returns its result.
type Load struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	sent, ok, failed, slow, posts atomic.Int64
	mu                            sync.Mutex
	versions                      map[string]int64
	errors                        []string
}

// Start begins sending the load until Stop, ctx's end or MaxDuration.
func Start(ctx context.Context, cfg Config) *Load {
	if cfg.Workers == 0 {
		cfg.Workers = 4
	}
	if cfg.MaxDuration == 0 {
		cfg.MaxDuration = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.MaxDuration)
	l := &Load{cancel: cancel, versions: map[string]int64{}}
	if cfg.PostBytes == 0 {
		cfg.PostBytes = 512
	}
	tr := &http.Transport{MaxIdleConnsPerHost: cfg.Workers + cfg.SlowWorkers + cfg.PostWorkers, IdleConnTimeout: time.Minute}
	// No client-side retries hide a failure: one attempt per request, counted.
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	for range cfg.Workers {
		l.wg.Add(1)
		go l.worker(ctx, client, cfg, request{url: cfg.URL + "/"})
	}
	for range cfg.SlowWorkers {
		l.wg.Add(1)
		go l.worker(ctx, client, cfg, request{url: cfg.URL + cfg.SlowPath, slow: true})
	}
	body := strings.Repeat("x", cfg.PostBytes)
	for range cfg.PostWorkers {
		l.wg.Add(1)
		go l.worker(ctx, client, cfg, request{url: cfg.URL + cfg.PostPath, body: body})
	}
	return l
}

// request is what one worker sends, again and again.
type request struct {
	url  string
	slow bool
	body string // a POST's, if not empty
}

func (l *Load) worker(ctx context.Context, client *http.Client, cfg Config, r request) {
	defer l.wg.Done()
	for ctx.Err() == nil {
		l.once(client, cfg.Host, r)
		if cfg.Pause > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(cfg.Pause):
			}
		}
	}
}

func (l *Load) once(client *http.Client, host string, r request) {
	method, payload := "GET", io.Reader(nil)
	if r.body != "" {
		method, payload = "POST", strings.NewReader(r.body)
	}
	req, err := http.NewRequest(method, r.url, payload)
	if err != nil {
		l.fail(err.Error())
		return
	}
	// Requests are not tied to ctx: stopping the load lets the ones in
	// flight finish, so that each one counts as answered or failed.
	req.Host = host
	l.sent.Add(1)
	resp, err := client.Do(req)
	if err != nil {
		l.fail(err.Error())
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		l.fail("read body: " + err.Error())
		return
	}
	if resp.StatusCode != http.StatusOK {
		l.fail(fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(body))))
		return
	}
	l.ok.Add(1)
	if r.slow {
		l.slow.Add(1)
	}
	if r.body != "" {
		l.posts.Add(1)
	}
	v := resp.Header.Get("X-Version")
	l.mu.Lock()
	l.versions["v"+v]++
	l.mu.Unlock()
}

func (l *Load) fail(msg string) {
	l.failed.Add(1)
	l.mu.Lock()
	if len(l.errors) < 20 {
		l.errors = append(l.errors, time.Now().Format("15:04:05.000")+" "+msg)
	}
	l.mu.Unlock()
}

// Snapshot returns the counts so far.
func (l *Load) Snapshot() Result {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := Result{Sent: l.sent.Load(), OK: l.ok.Load(), Failed: l.failed.Load(), Slow: l.slow.Load(), Posts: l.posts.Load(), Versions: map[string]int64{}}
	for k, v := range l.versions {
		r.Versions[k] = v
	}
	r.Errors = append(r.Errors, l.errors...)
	return r
}

// Stop ends the load, waits for requests in flight, and returns the result.
func (l *Load) Stop() Result {
	l.cancel()
	l.wg.Wait()
	return l.Snapshot()
}

// VersionList formats the versions served, most requests first.
func (r Result) VersionList() string {
	type kv struct {
		k string
		v int64
	}
	var list []kv
	for k, v := range r.Versions {
		list = append(list, kv{k, v})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].k < list[j].k })
	var parts []string
	for _, e := range list {
		parts = append(parts, fmt.Sprintf("%s: %d", e.k, e.v))
	}
	return strings.Join(parts, ", ")
}
