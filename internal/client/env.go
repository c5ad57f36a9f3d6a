package client

import (
	"context"

	"github.com/nonstopdev/nonstop/internal/wire"
)

// SetEnv sets and unsets env vars; a rollout follows when the app is live.
func (c *Client) SetEnv(ctx context.Context, app string, set map[string]string, unset []string) (*wire.Rollout, string, error) {
	return c.action(ctx, app, "env", wire.EnvRequest{Set: set, Unset: unset})
}

// Env lists the app's env vars, values masked unless reveal.
func (c *Client) Env(ctx context.Context, app string, reveal bool) ([]wire.EnvVar, error) {
	var out []wire.EnvVar
	q := ""
	if reveal {
		q = "?reveal=1"
	}
	return out, c.call(ctx, "GET", appPath(app, "/env"+q), nil, &out)
}
