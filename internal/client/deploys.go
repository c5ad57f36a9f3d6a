package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"

	"github.com/nonstopdev/nonstop/internal/store"
)

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
