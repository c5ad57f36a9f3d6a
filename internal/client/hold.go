package client

import (
	"context"
	"time"

	"github.com/nonstopdev/nonstop/internal/api"
)

// Hold makes the proxy hold the app's new requests until Unhold, each for
// at most maxWait and at most maxQueue at once (zero: the server's
// defaults).
func (c *Client) Hold(ctx context.Context, app string, maxWait time.Duration, maxQueue int) (*api.HoldResult, error) {
	in := map[string]any{}
	if maxWait != 0 {
		in["max_wait"] = maxWait.String()
	}
	if maxQueue != 0 {
		in["max_queue"] = maxQueue
	}
	var out api.HoldResult
	return &out, c.call(ctx, "POST", appPath(app, "/hold"), in, &out)
}

// Unhold lets the app's held requests through, in the order they came.
func (c *Client) Unhold(ctx context.Context, app string) (*api.HoldResult, error) {
	var out api.HoldResult
	return &out, c.call(ctx, "POST", appPath(app, "/unhold"), nil, &out)
}
