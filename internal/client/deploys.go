package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/nonstopdev/nonstop/internal/wire"
)

// Deploy uploads a source archive (tar.gz or zip) and returns the rollout it started.
func (c *Client) Deploy(ctx context.Context, app string, archive io.Reader, source string) (*wire.Rollout, error) {
	return c.DeploySource(ctx, app, archive, source, "")
}

// DeploySource is Deploy with the source's git commit, which images are
// tagged with.
func (c *Client) DeploySource(ctx context.Context, app string, archive io.Reader, source, gitSHA string) (*wire.Rollout, error) {
	return c.DeployWith(ctx, app, archive, wire.DeployOptions{Source: source, GitSHA: gitSHA})
}

// DeployWith uploads a source archive with options.
func (c *Client) DeployWith(ctx context.Context, app string, archive io.Reader, o wire.DeployOptions) (*wire.Rollout, error) {
	path := appPath(app, "/deploys")
	if q := o.Query(); len(q) > 0 {
		path += "?" + q.Encode()
	}
	resp, err := c.request(ctx, "POST", path, archive, "application/gzip")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out wire.Rollout
	return &out, json.NewDecoder(resp.Body).Decode(&out)
}

// DeployImage rolls out a prebuilt image with specYAML (a nonstop.yaml's
// text; "" for the live release's spec) and returns the rollout it started.
func (c *Client) DeployImage(ctx context.Context, app, image, specYAML string) (*wire.Rollout, error) {
	var out wire.Rollout
	return &out, c.call(ctx, "POST", appPath(app, "/deploys"), wire.DeployRequest{Image: image, Spec: specYAML}, &out)
}

// Rollout returns one rollout of an app.
func (c *Client) Rollout(ctx context.Context, app string, id int64) (*wire.Rollout, error) {
	var out wire.Rollout
	return &out, c.call(ctx, "GET", appPath(app, fmt.Sprintf("/deploys/%d", id)), nil, &out)
}

// Rollouts lists an app's rollouts, newest first.
func (c *Client) Rollouts(ctx context.Context, app string) ([]wire.Rollout, error) {
	var out []wire.Rollout
	return out, c.call(ctx, "GET", appPath(app, "/deploys"), nil, &out)
}
