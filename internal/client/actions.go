package client

import (
	"context"
	"encoding/json"

	"github.com/nonstopdev/nonstop/internal/wire"
)

// Rollback starts a rollback to version to ("" for the previous live release).
func (c *Client) Rollback(ctx context.Context, app, to string) (*wire.Rollout, error) {
	var out wire.Rollout
	return &out, c.call(ctx, "POST", appPath(app, "/rollback"), wire.RollbackRequest{To: to}, &out)
}

// action posts to an app action that answers a rollout (202) or a result (200).
func (c *Client) action(ctx context.Context, app, name string, in any) (*wire.Rollout, string, error) {
	var raw json.RawMessage
	if err := c.call(ctx, "POST", appPath(app, "/"+name), in, &raw); err != nil {
		return nil, "", err
	}
	var r wire.Rollout
	if json.Unmarshal(raw, &r) == nil && r.ID > 0 {
		return &r, "", nil
	}
	var res wire.Result
	json.Unmarshal(raw, &res)
	return nil, res.Result, nil
}

// Scale sets the number of instances; a nil rollout means it applies later.
func (c *Client) Scale(ctx context.Context, app string, n int) (*wire.Rollout, string, error) {
	return c.action(ctx, app, "scale", wire.ScaleRequest{Instances: n})
}

// Stop takes the app down behind its maintenance page.
func (c *Client) Stop(ctx context.Context, app string) (*wire.Rollout, error) {
	r, _, err := c.action(ctx, app, "stop", nil)
	return r, err
}

// Start brings a stopped app back.
func (c *Client) Start(ctx context.Context, app string) (*wire.Rollout, error) {
	r, _, err := c.action(ctx, app, "start", nil)
	return r, err
}

// Signal promotes (full: all steps), pauses or resumes the app's canary
// rollout, or aborts its rollout; name is promote, pause, resume or abort.
func (c *Client) Signal(ctx context.Context, app, name string, full bool) (*wire.Rollout, error) {
	var in any
	if full {
		in = wire.SignalRequest{Full: true}
	}
	var out wire.Rollout
	return &out, c.call(ctx, "POST", appPath(app, "/"+name), in, &out)
}
