package client

import (
	"context"

	"github.com/nonstopdev/nonstop/internal/api"
	"github.com/nonstopdev/nonstop/internal/store"
)

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
