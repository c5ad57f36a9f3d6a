package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// deliver POSTs e to every webhook at once and waits for all of them, so a
// slow receiver delays the next event by at most its own retry budget.
func (n *Notifier) deliver(e Event) {
	body, err := json.Marshal(e)
	if err != nil { // only an unencodable Time can get here
		n.failed.Add(int64(len(n.hooks)))
		n.log.Error("notify: encode event", "kind", e.Kind, "app", e.App, "rollout", e.Rollout, "err", err)
		return
	}
	var wg sync.WaitGroup
	for _, h := range n.hooks {
		wg.Go(func() { n.deliverTo(h, e, body) })
	}
	wg.Wait()
}

// deliverTo makes up to n.attempts attempts, waiting 1s, 2s, 4s… between
// them, and logs the outcome by host only.
func (n *Notifier) deliverTo(h webhook, e Event, body []byte) {
	wait := n.tune.backoff
	var err error
	for attempt := 1; attempt <= n.attempts; attempt++ {
		var retry bool
		retry, err = n.post(h, body)
		if err == nil {
			n.log.Debug("notify: delivered", "host", h.host, "kind", e.Kind,
				"app", e.App, "rollout", e.Rollout, "attempt", attempt)
			return
		}
		if !retry || attempt == n.attempts || n.ctx.Err() != nil {
			break
		}
		n.log.Debug("notify: attempt failed, retrying", "host", h.host, "kind", e.Kind,
			"attempt", attempt, "wait", wait, "err", err.Error())
		if !sleep(n.ctx, wait) {
			break
		}
		wait = min(2*wait, maxBackoff)
	}
	n.failed.Add(1)
	n.log.Warn("notify: delivery failed", "host", h.host, "kind", e.Kind,
		"app", e.App, "rollout", e.Rollout, "err", err.Error())
}

// post makes one attempt. retry reports whether another attempt may
// succeed: network errors and 5xx, not other statuses. Its error never
// contains the URL's path or query.
func (n *Notifier) post(h webhook, body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(n.ctx, n.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return false, h.scrub(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", n.userAgent)
	resp, err := n.client.Do(req)
	if err != nil {
		switch {
		case n.ctx.Err() != nil:
			return false, errors.New("abandoned: Close timed out")
		case errors.Is(err, context.DeadlineExceeded):
			return true, fmt.Errorf("no answer within %s", n.timeout)
		}
		return true, h.scrub(err)
	}
	// Read a little so the connection can be reused; the body is not logged.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode >= 500:
		return true, fmt.Errorf("status %d", resp.StatusCode)
	default:
		return false, fmt.Errorf("status %d (not retried)", resp.StatusCode)
	}
}

// scrub removes the URL from an error: url.Error quotes it whole, and the
// path of a Slack webhook is its credential.
func (h webhook) scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	if strings.Contains(msg, h.url) || (h.path != "/" && strings.Contains(msg, h.path)) {
		msg = strings.ReplaceAll(msg, h.url, h.host)
		if h.path != "/" {
			msg = strings.ReplaceAll(msg, h.path, "/…")
		}
		return errors.New(msg)
	}
	return err
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
