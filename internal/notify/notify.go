// Package notify tells the outside world what rollouts do: each Event
// (started, step passed, paused, resumed, failed, rolled back, succeeded)
// is POSTed as JSON to every configured webhook URL, with a one-line "text"
// field that Slack incoming webhooks and compatible receivers display.
//
// A Notifier never blocks its caller: Notify queues the event and one
// goroutine owned by the Notifier delivers events in order, retrying
// network errors and 5xx answers with backoff. When the queue is full the
// event is dropped, logged and counted. Close delivers what is queued
// within a bounded time and stops the goroutine.
//
// Webhook URLs are secrets (a Slack webhook's path is its credential), so
// logs and errors name a webhook by its host only.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for Options left zero.
const (
	DefaultTimeout   = 5 * time.Second
	DefaultAttempts  = 3
	DefaultQueueSize = 256
	DefaultUserAgent = "nonstop-notify"

	defaultBackoff      = time.Second      // before the 2nd attempt; doubles after
	maxBackoff          = 30 * time.Second // cap on the doubling
	defaultCloseTimeout = 10 * time.Second // how long Close keeps delivering
)

// Options tune a Notifier. The zero value is usable.
type Options struct {
	Client    *http.Client  // nil: a client without its own timeout (each attempt has Timeout)
	Timeout   time.Duration // per attempt, including reading the answer; default 5s
	Attempts  int           // per event and URL; default 3 (waits of 1s, 2s between them)
	QueueSize int           // events waiting for delivery; default 256
	Logger    *slog.Logger  // nil: slog.Default()
	UserAgent string        // default "nonstop-notify"
}

// tuning holds what tests shorten; New uses the production values.
type tuning struct {
	backoff      time.Duration
	closeTimeout time.Duration
	now          func() time.Time
}

// Notifier delivers events to webhooks in the background. A nil *Notifier,
// or one made with no URLs, is valid and does nothing. Its methods are safe
// for concurrent use.
type Notifier struct {
	hooks     []webhook
	client    *http.Client
	timeout   time.Duration
	attempts  int
	userAgent string
	log       *slog.Logger
	tune      tuning

	mu     sync.Mutex // guards closed and sends on queue
	closed bool
	queue  chan Event

	stop      chan struct{} // closed by Close: drain the queue, then exit
	done      chan struct{} // closed by the goroutine when it exits
	ctx       context.Context
	cancel    context.CancelFunc // aborts deliveries in flight
	closeOnce sync.Once

	dropped atomic.Int64
	failed  atomic.Int64
}

// webhook is one validated URL; host is all that may be logged.
type webhook struct {
	url  string
	host string
	path string // path and query: secret, used only to scrub error text
}

// New validates urls (absolute http or https URLs with a host) and, when
// there is at least one, starts the delivery goroutine; Close stops it.
func New(urls []string, opts Options) (*Notifier, error) {
	return newNotifier(urls, opts, tuning{
		backoff:      defaultBackoff,
		closeTimeout: defaultCloseTimeout,
		now:          time.Now,
	})
}

func newNotifier(urls []string, opts Options, tune tuning) (*Notifier, error) {
	hooks := make([]webhook, 0, len(urls))
	for i, raw := range urls {
		h, err := parseWebhook(raw)
		if err != nil {
			return nil, fmt.Errorf("webhook %d: %w", i+1, err)
		}
		hooks = append(hooks, h)
	}
	if opts.Timeout < 0 || opts.Attempts < 0 || opts.QueueSize < 0 {
		return nil, errors.New("notify options: timeout, attempts and queue size must not be negative")
	}
	n := &Notifier{
		hooks:     hooks,
		client:    opts.Client,
		timeout:   opts.Timeout,
		attempts:  opts.Attempts,
		userAgent: opts.UserAgent,
		log:       opts.Logger,
		tune:      tune,
	}
	if n.client == nil {
		n.client = &http.Client{}
	}
	if n.timeout == 0 {
		n.timeout = DefaultTimeout
	}
	if n.attempts == 0 {
		n.attempts = DefaultAttempts
	}
	if n.userAgent == "" {
		n.userAgent = DefaultUserAgent
	}
	if n.log == nil {
		n.log = slog.Default()
	}
	if n.tune.now == nil {
		n.tune.now = time.Now
	}
	if len(hooks) == 0 {
		return n, nil // nothing to deliver to: no queue, no goroutine
	}
	size := opts.QueueSize
	if size == 0 {
		size = DefaultQueueSize
	}
	n.queue = make(chan Event, size)
	n.stop = make(chan struct{})
	n.done = make(chan struct{})
	n.ctx, n.cancel = context.WithCancel(context.Background())
	go n.run()
	return n, nil
}

// parseWebhook checks one URL. Its errors never quote the URL.
func parseWebhook(raw string) (webhook, error) {
	if raw == "" {
		return webhook{}, errors.New("empty URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the whole URL
		}
		return webhook{}, fmt.Errorf("invalid URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return webhook{}, fmt.Errorf("scheme %q not allowed: use http or https", u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return webhook{}, errors.New("URL has no host")
	}
	return webhook{url: u.String(), host: u.Host, path: u.RequestURI()}, nil
}

// Notify queues e for delivery and returns at once. It fills e.Text with
// e.Line() when empty and e.Time when zero. When the queue is full, or
// after Close, e is dropped and counted.
func (n *Notifier) Notify(e Event) {
	if n == nil || len(n.hooks) == 0 {
		return
	}
	if e.Time.IsZero() {
		e.Time = n.tune.now().UTC()
	}
	if e.Text == "" {
		e.Text = e.Line()
	}
	n.mu.Lock()
	queued := false
	if !n.closed {
		select {
		case n.queue <- e:
			queued = true
		default:
		}
	}
	closed := n.closed
	n.mu.Unlock()
	if queued {
		return
	}
	total := n.dropped.Add(1)
	why := "queue full"
	if closed {
		why = "notifier closed"
	}
	n.log.Warn("notify: event dropped", "why", why,
		"kind", e.Kind, "app", e.App, "rollout", e.Rollout, "dropped_total", total)
}

// Close delivers the events still queued, giving up after about ten
// seconds (what is left is dropped and counted), and stops the delivery
// goroutine. It is safe to call more than once; Notify after Close drops.
func (n *Notifier) Close() {
	if n == nil || n.queue == nil {
		return
	}
	n.closeOnce.Do(func() {
		n.mu.Lock()
		n.closed = true
		n.mu.Unlock()
		close(n.stop)
		timer := time.NewTimer(n.tune.closeTimeout)
		defer timer.Stop()
		select {
		case <-n.done:
		case <-timer.C:
			n.cancel() // abort the attempt in flight; run drops the rest
			<-n.done
		}
		n.cancel()
	})
}

// Dropped returns how many events were never attempted: the queue was
// full, the Notifier was closed, or Close ran out of time.
func (n *Notifier) Dropped() int64 {
	if n == nil {
		return 0
	}
	return n.dropped.Load()
}

// Failed returns how many deliveries (one event to one URL) failed after
// their last attempt or were refused with a non-retryable status.
func (n *Notifier) Failed() int64 {
	if n == nil {
		return 0
	}
	return n.failed.Load()
}

// run is the delivery goroutine: one event at a time, in order.
func (n *Notifier) run() {
	defer close(n.done)
	for {
		select {
		case e := <-n.queue:
			n.handle(e)
		case <-n.stop:
			// Close has set closed, so nothing more is sent: empty the queue.
			for {
				select {
				case e := <-n.queue:
					n.handle(e)
				default:
					return
				}
			}
		}
	}
}

// handle delivers e, or drops it once Close has given up waiting.
func (n *Notifier) handle(e Event) {
	if n.ctx.Err() == nil {
		n.deliver(e)
		return
	}
	total := n.dropped.Add(1)
	n.log.Warn("notify: event dropped", "why", "close timed out",
		"kind", e.Kind, "app", e.App, "rollout", e.Rollout, "dropped_total", total)
}
