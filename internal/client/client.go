// Package client is the Go client of nonstop's REST API, used by the CLI,
// the demo and the end-to-end tests. It takes and returns package wire's
// types, and knows nothing else of the server.
package client

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

	"github.com/nonstopdev/nonstop/internal/wire"
)

// Client talks to one nonstop server as one token.
type Client struct {
	Server string // e.g. http://127.0.0.1:7070
	Token  string
	HTTP   *http.Client
}

// New returns a client of server acting with token.
func New(server, token string) *Client {
	return &Client{Server: strings.TrimRight(server, "/"), Token: token, HTTP: &http.Client{}}
}

// Error is an error answered by the server.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Message }

// StatusOf returns the HTTP status of an API error, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func (c *Client) request(ctx context.Context, method, path string, body io.Reader, contentType string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.Server+path, body)
	if err != nil {
		return nil, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach nonstop server at %s: %w", c.Server, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var e wire.Error
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(data, &e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(data))
		}
		return nil, &Error{Status: resp.StatusCode, Message: e.Message}
	}
	return resp, nil
}

// call sends in (JSON, when not nil) and decodes the answer into out (when not nil).
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	ct := ""
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, ct = bytes.NewReader(data), "application/json"
	}
	resp, err := c.request(ctx, method, path, body, ct)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode answer to %s %s: %w", method, path, err)
	}
	return nil
}

func appPath(app string, rest ...string) string {
	return "/api/v1/apps/" + url.PathEscape(app) + strings.Join(rest, "")
}

// Whoami returns the name and role the token acts as.
func (c *Client) Whoami(ctx context.Context) (*wire.Whoami, error) {
	var out wire.Whoami
	return &out, c.call(ctx, "GET", "/api/v1/whoami", nil, &out)
}
