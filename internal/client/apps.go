package client

import (
	"context"
	"fmt"
	"io"
	"net/url"

	"github.com/nonstopdev/nonstop/internal/wire"
)

// CreateApp creates an app.
func (c *Client) CreateApp(ctx context.Context, name string, domains []string) (*wire.App, error) {
	return c.CreateAppIn(ctx, name, "", domains)
}

// CreateAppIn creates an app owned by team ("": the caller's first team).
func (c *Client) CreateAppIn(ctx context.Context, name, team string, domains []string) (*wire.App, error) {
	var out wire.App
	return &out, c.call(ctx, "POST", "/api/v1/apps", wire.CreateAppRequest{Name: name, Domains: domains, Team: team}, &out)
}

// Apps lists the apps the token may see.
func (c *Client) Apps(ctx context.Context) ([]wire.App, error) {
	var out []wire.App
	return out, c.call(ctx, "GET", "/api/v1/apps", nil, &out)
}

// DeleteApp deletes an app and stops its instances.
func (c *Client) DeleteApp(ctx context.Context, name string) error {
	return c.call(ctx, "DELETE", appPath(name), nil, nil)
}

// Status returns everything known about an app.
func (c *Client) Status(ctx context.Context, app string) (*wire.AppStatus, error) {
	var out wire.AppStatus
	return &out, c.call(ctx, "GET", appPath(app), nil, &out)
}

// Releases lists an app's releases, newest first.
func (c *Client) Releases(ctx context.Context, app string) ([]wire.Release, error) {
	var out []wire.Release
	return out, c.call(ctx, "GET", appPath(app, "/releases"), nil, &out)
}

// Traffic reads an app's traffic history over the last since (e.g. "1h";
// "" for the server's default) by step ("" for the default).
func (c *Client) Traffic(ctx context.Context, app, since, step string) (*wire.TrafficHistory, error) {
	q := url.Values{}
	if since != "" {
		q.Set("since", since)
	}
	if step != "" {
		q.Set("step", step)
	}
	var out wire.TrafficHistory
	return &out, c.call(ctx, "GET", appPath(app, "/metrics?"+q.Encode()), nil, &out)
}

// Instances lists an app's active instances.
func (c *Client) Instances(ctx context.Context, app string) ([]wire.Instance, error) {
	var out []wire.Instance
	return out, c.call(ctx, "GET", appPath(app, "/instances"), nil, &out)
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

// SetApp changes an app's settings and returns it.
func (c *Client) SetApp(ctx context.Context, app string, s wire.AppSettings) (*wire.App, error) {
	var out wire.App
	return &out, c.call(ctx, "PATCH", appPath(app), s, &out)
}

// Webhook returns the app's webhook URLs and secret (made at first ask).
func (c *Client) Webhook(ctx context.Context, app string, rotate bool) (*wire.WebhookInfo, error) {
	var out wire.WebhookInfo
	q := ""
	if rotate {
		q = "?rotate=1"
	}
	return &out, c.call(ctx, "GET", appPath(app, "/webhook"+q), nil, &out)
}
