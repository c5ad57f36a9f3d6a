package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy"
)

// Client drives a proxy over its control socket. It implements Controller,
// so the control plane uses it as it would an in-process *Proxy.
type Client struct {
	socket string
	http   *http.Client
}

var _ proxy.Controller = (*Client)(nil)

// NewClient returns a client of the proxy whose control socket is at
// socketPath. Calls are bounded by their contexts only (Drain may take
// its whole timeout). Close releases its idle connection.
func NewClient(socketPath string) *Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &Client{
		socket: socketPath,
		http: &http.Client{Transport: &http.Transport{
			Proxy: nil,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, "unix", socketPath)
			},
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     30 * time.Second,
		}},
	}
}

// Close closes the client's idle connections.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

func (c *Client) SetRoute(ctx context.Context, r proxy.Route) error {
	return c.do(ctx, http.MethodPut, "/routes/"+url.PathEscape(r.App), r, nil)
}

func (c *Client) DeleteRoute(ctx context.Context, app string) error {
	return c.do(ctx, http.MethodDelete, "/routes/"+url.PathEscape(app), nil, nil)
}

func (c *Client) Drain(ctx context.Context, addrs []string, timeout time.Duration) (int64, error) {
	var resp DrainResponse
	err := c.do(ctx, http.MethodPost, "/drain", DrainRequest{Addrs: addrs, Timeout: Duration(timeout)}, &resp)
	return resp.Remaining, err
}

func (c *Client) Status(ctx context.Context, app string) ([]proxy.BackendStatus, error) {
	var st []proxy.BackendStatus
	err := c.do(ctx, http.MethodGet, "/routes/"+url.PathEscape(app)+"/status", nil, &st)
	return st, err
}

func (c *Client) Routes(ctx context.Context) ([]proxy.Route, error) {
	var routes []proxy.Route
	err := c.do(ctx, http.MethodGet, "/routes", nil, &routes)
	return routes, err
}

func (c *Client) Metrics(ctx context.Context, app string) ([]proxy.ReleaseMetrics, error) {
	var m []proxy.ReleaseMetrics
	err := c.do(ctx, http.MethodGet, "/metrics?app="+url.QueryEscape(app), nil, &m)
	return m, err
}

// Shutdown asks the proxy to stop: it stops accepting, lets requests in
// flight finish (within its bound), and exits. It returns once the proxy
// has accepted the request, not when it has stopped.
func (c *Client) Shutdown(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/shutdown", nil, nil)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("proxy %s %s: encode: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://nonstop-proxy"+path, body)
	if err != nil {
		return fmt.Errorf("proxy %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("proxy %s %s via %s: %w", method, path, c.socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var eb errorBody
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(data, &eb) != nil || eb.Error == "" {
			eb.Error = fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(data))
		}
		return &remoteError{code: eb.Code, msg: eb.Error}
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("proxy %s %s: decode: %w", method, path, err)
	}
	return nil
}

// remoteError is an error the proxy answered; it unwraps to the sentinel
// its code names, so errors.Is works across the socket.
type remoteError struct {
	code string
	msg  string
}

func (e *remoteError) Error() string { return "proxy: " + e.msg }

func (e *remoteError) Unwrap() error {
	for _, ce := range controlErrors {
		if ce.code == e.code {
			return ce.err
		}
	}
	return nil
}
