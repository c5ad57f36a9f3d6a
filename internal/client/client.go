// Package client is the Go client of nonstop's REST API, used by the CLI,
// the demo and the end-to-end tests.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nonstopdev/nonstop/internal/api"
	"github.com/nonstopdev/nonstop/internal/store"
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
		var e struct {
			Error string `json:"error"`
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return nil, &Error{Status: resp.StatusCode, Message: e.Error}
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
func (c *Client) Whoami(ctx context.Context) (map[string]string, error) {
	var out map[string]string
	return out, c.call(ctx, "GET", "/api/v1/whoami", nil, &out)
}

// App is an app as listed.
type App struct {
	Name        string   `json:"name"`
	Domains     []string `json:"domains"`
	State       string   `json:"state"`
	LiveRelease int      `json:"live_release"`
	URLs        []string `json:"urls"`
}

// CreateApp creates an app.
func (c *Client) CreateApp(ctx context.Context, name string, domains []string) (*App, error) {
	var out App
	return &out, c.call(ctx, "POST", "/api/v1/apps", map[string]any{"name": name, "domains": domains}, &out)
}

// Apps lists the apps the token may see.
func (c *Client) Apps(ctx context.Context) ([]App, error) {
	var out []App
	return out, c.call(ctx, "GET", "/api/v1/apps", nil, &out)
}

// DeleteApp deletes an app and stops its instances.
func (c *Client) DeleteApp(ctx context.Context, name string) error {
	return c.call(ctx, "DELETE", appPath(name), nil, nil)
}

// Status returns everything known about an app.
func (c *Client) Status(ctx context.Context, app string) (*api.AppStatus, error) {
	var out api.AppStatus
	return &out, c.call(ctx, "GET", appPath(app), nil, &out)
}

// Releases lists an app's releases, newest first.
func (c *Client) Releases(ctx context.Context, app string) ([]store.Release, error) {
	var out []store.Release
	return out, c.call(ctx, "GET", appPath(app, "/releases"), nil, &out)
}

// Instances lists an app's active instances.
func (c *Client) Instances(ctx context.Context, app string) ([]api.InstanceState, error) {
	var out []api.InstanceState
	return out, c.call(ctx, "GET", appPath(app, "/instances"), nil, &out)
}

// Deploy uploads a source archive (tar.gz or zip) and returns the rollout it started.
func (c *Client) Deploy(ctx context.Context, app string, archive io.Reader, source string) (*store.Rollout, error) {
	return c.DeploySource(ctx, app, archive, source, "")
}

// DeploySource is Deploy with the source's git commit, which images are
// tagged with.
func (c *Client) DeploySource(ctx context.Context, app string, archive io.Reader, source, gitSHA string) (*store.Rollout, error) {
	return c.DeployWith(ctx, app, archive, DeployOptions{Source: source, GitSHA: gitSHA})
}

// DeployOptions say where an upload comes from and how to roll it out.
type DeployOptions struct {
	Source   string // cli, push, upload...
	GitSHA   string // the source's commit, when known
	Strategy string // overrides nonstop.yaml's deploy.strategy when set
}

// DeployWith uploads a source archive with options.
func (c *Client) DeployWith(ctx context.Context, app string, archive io.Reader, o DeployOptions) (*store.Rollout, error) {
	source, gitSHA := o.Source, o.GitSHA
	q := url.Values{}
	if o.Strategy != "" {
		q.Set("strategy", o.Strategy)
	}
	if source != "" {
		q.Set("source", source)
	}
	if gitSHA != "" {
		q.Set("sha", gitSHA)
	}
	path := appPath(app, "/deploys")
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	resp, err := c.request(ctx, "POST", path, archive, "application/gzip")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out store.Rollout
	return &out, json.NewDecoder(resp.Body).Decode(&out)
}

// DeployImage rolls out a prebuilt image with specYAML (a nonstop.yaml's
// text; "" for the live release's spec) and returns the rollout it started.
func (c *Client) DeployImage(ctx context.Context, app, image, specYAML string) (*store.Rollout, error) {
	var out store.Rollout
	return &out, c.call(ctx, "POST", appPath(app, "/deploys"), map[string]string{"image": image, "spec": specYAML}, &out)
}

// Rollout returns one rollout of an app.
func (c *Client) Rollout(ctx context.Context, app string, id int64) (*store.Rollout, error) {
	var out store.Rollout
	return &out, c.call(ctx, "GET", appPath(app, fmt.Sprintf("/deploys/%d", id)), nil, &out)
}

// Rollouts lists an app's rollouts, newest first.
func (c *Client) Rollouts(ctx context.Context, app string) ([]store.Rollout, error) {
	var out []store.Rollout
	return out, c.call(ctx, "GET", appPath(app, "/deploys"), nil, &out)
}

// Follow streams a rollout's events to fn until it is over, and returns the
// rollout as it ended. It reconnects from the last event if the stream breaks.
func (c *Client) Follow(ctx context.Context, app string, id int64, fn func(store.Event)) (*store.Rollout, error) {
	var last int64
	for attempt := 0; ; attempt++ {
		end, err := c.follow(ctx, app, id, &last, fn)
		if end != nil || ctx.Err() != nil || attempt >= 30 || StatusOf(err) != 0 {
			return end, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func (c *Client) follow(ctx context.Context, app string, id int64, last *int64, fn func(store.Event)) (*store.Rollout, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.Server+appPath(app, fmt.Sprintf("/deploys/%d/events", id)), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "text/event-stream")
	if *last > 0 {
		req.Header.Set("Last-Event-ID", fmt.Sprint(*last))
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		return nil, &Error{Status: resp.StatusCode, Message: strings.TrimSpace(string(data))}
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	var event, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case line == "" && data != "":
			if event == "end" {
				var r store.Rollout
				if err := json.Unmarshal([]byte(data), &r); err != nil {
					return nil, fmt.Errorf("decode end of rollout: %w", err)
				}
				return &r, nil
			}
			var e store.Event
			if err := json.Unmarshal([]byte(data), &e); err == nil {
				*last = e.ID
				fn(e)
			}
			event, data = "", ""
		}
	}
	return nil, fmt.Errorf("event stream of rollout #%d ended early: %v", id, sc.Err())
}

// Rollback starts a rollback to version to ("" for the previous live release).
func (c *Client) Rollback(ctx context.Context, app, to string) (*store.Rollout, error) {
	var out store.Rollout
	return &out, c.call(ctx, "POST", appPath(app, "/rollback"), map[string]string{"to": to}, &out)
}

// action posts to an app action that answers a rollout (202) or a result (200).
func (c *Client) action(ctx context.Context, app, name string, in any) (*store.Rollout, string, error) {
	var raw json.RawMessage
	if err := c.call(ctx, "POST", appPath(app, "/"+name), in, &raw); err != nil {
		return nil, "", err
	}
	var r store.Rollout
	if json.Unmarshal(raw, &r) == nil && r.ID > 0 {
		return &r, "", nil
	}
	var res struct {
		Result string `json:"result"`
	}
	json.Unmarshal(raw, &res)
	return nil, res.Result, nil
}

// Scale sets the number of instances; a nil rollout means it applies later.
func (c *Client) Scale(ctx context.Context, app string, n int) (*store.Rollout, string, error) {
	return c.action(ctx, app, "scale", map[string]int{"instances": n})
}

// Stop takes the app down behind its maintenance page.
func (c *Client) Stop(ctx context.Context, app string) (*store.Rollout, error) {
	r, _, err := c.action(ctx, app, "stop", nil)
	return r, err
}

// Start brings a stopped app back.
func (c *Client) Start(ctx context.Context, app string) (*store.Rollout, error) {
	r, _, err := c.action(ctx, app, "start", nil)
	return r, err
}

// SetEnv sets and unsets env vars; a rollout follows when the app is live.
func (c *Client) SetEnv(ctx context.Context, app string, set map[string]string, unset []string) (*store.Rollout, string, error) {
	return c.action(ctx, app, "env", map[string]any{"set": set, "unset": unset})
}

// Env lists the app's env vars, values masked unless reveal.
func (c *Client) Env(ctx context.Context, app string, reveal bool) ([]api.EnvVar, error) {
	var out []api.EnvVar
	q := ""
	if reveal {
		q = "?reveal=1"
	}
	return out, c.call(ctx, "GET", appPath(app, "/env"+q), nil, &out)
}

// Logs copies the app's instance output to w; follow keeps it streaming.
func (c *Client) Logs(ctx context.Context, app string, tail int, follow bool, w io.Writer) error {
	q := fmt.Sprintf("?tail=%d", tail)
	if follow {
		q += "&follow=1"
	}
	resp, err := c.request(ctx, "GET", appPath(app, "/logs"+q), nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Signal promotes (full: all steps), pauses or resumes the app's canary
// rollout, or aborts its rollout; name is promote, pause, resume or abort.
func (c *Client) Signal(ctx context.Context, app, name string, full bool) (*store.Rollout, error) {
	var in any
	if full {
		in = map[string]bool{"full": true}
	}
	var out store.Rollout
	return &out, c.call(ctx, "POST", appPath(app, "/"+name), in, &out)
}
