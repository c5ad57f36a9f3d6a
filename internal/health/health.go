// Package health runs active HTTP health checks against instances: a single
// probe (Probe.Check) and the wait for a new instance to become healthy
// (WaitHealthy).
package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode"
)

// Probe is one HTTP health check: GET http://ADDR+Path, healthy on 2xx and
// 3xx. A Probe is a value; it is safe for concurrent use.
type Probe struct {
	Path    string        // "" means "/"
	Timeout time.Duration // per check; 0 means only ctx bounds it
	// Client sends the checks. Nil means a client made for each check that
	// does not follow redirects and keeps no idle connection (every check
	// dials, which also proves the instance still accepts connections).
	// Pass NewClient() to share one between checks.
	Client *http.Client
}

// NewClient returns the client a Probe uses by default, to share between
// many checks: it does not follow redirects (a 3xx is an answer), ignores
// proxy environment variables, and keeps no idle connection.
func NewClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:              nil,
			DialContext:        (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			DisableKeepAlives:  true,
			DisableCompression: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Check runs one check against addr (host:port). It returns nil when the
// instance answered 2xx or 3xx, else an error that names the URL and the
// status or the connection error.
func (p Probe) Check(ctx context.Context, addr string) error {
	if p.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.Timeout)
		defer cancel()
	}
	path := p.Path
	if path == "" {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	url := "http://" + addr + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("health check %s: %w", url, err)
	}
	req.Header.Set("User-Agent", "nonstop-health/1")
	client := p.Client
	if client == nil {
		client = NewClient()
		defer client.CloseIdleConnections()
	}
	resp, err := client.Do(req)
	if err != nil {
		return err // *url.Error: names the method, the URL and the cause
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return nil
	}
	if s := snippet(head); s != "" {
		return fmt.Errorf("GET %s: status %s: %s", url, resp.Status, s)
	}
	return fmt.Errorf("GET %s: status %s", url, resp.Status)
}

// snippet makes the start of a response body fit on one short line.
func snippet(b []byte) string {
	s := strings.Join(strings.FieldsFunc(string(b), unicode.IsSpace), " ")
	if r := []rune(s); len(r) > 120 {
		s = string(r[:120]) + "…"
	}
	return s
}

// WaitHealthy checks addr every interval until threshold checks in a row
// have passed. It fails when deadline has passed since the call (the error
// says "not healthy after 60s: last check: ..."), when ctx is done, or as
// soon as alive (if not nil) returns an error, which it then returns as is:
// an instance that exited will not become healthy.
func WaitHealthy(ctx context.Context, p Probe, addr string, interval time.Duration, threshold int, deadline time.Duration, alive func() error) error {
	if threshold < 1 {
		threshold = 1
	}
	if interval <= 0 {
		interval = time.Second
	}
	dctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()

	passed := 0
	var last error
	for {
		if alive != nil {
			if err := alive(); err != nil {
				return err
			}
		}
		err := p.Check(dctx, addr)
		switch {
		case err == nil:
			passed++
			if passed >= threshold {
				return nil
			}
		case dctx.Err() != nil && last != nil:
			// The check was cut short by the deadline: the previous
			// complete check says more than "context deadline exceeded".
		default:
			passed = 0
			last = err
		}
		if err != nil && alive != nil {
			if aerr := alive(); aerr != nil {
				return aerr
			}
		}
		select {
		case <-ticker.C:
		case <-dctx.Done():
			if ctx.Err() != nil {
				return fmt.Errorf("wait for %s to be healthy: %w", addr, ctx.Err())
			}
			if last == nil {
				last = errors.New("no check completed")
			}
			return fmt.Errorf("not healthy after %s: last check: %w", seconds(deadline), last)
		}
	}
}

// seconds prints whole-second durations as "60s" rather than "1m0s".
func seconds(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}
