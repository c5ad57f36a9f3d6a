package client

import (
	"context"
	"time"

	"github.com/nonstopdev/nonstop/internal/wire"
)

// Hold makes the proxy hold the app's new requests until Unhold, each for
// at most maxWait and at most maxQueue at once (zero: the server's
// defaults).
func (c *Client) Hold(ctx context.Context, app string, maxWait time.Duration, maxQueue int) (*wire.HoldResult, error) {
	in := wire.HoldRequest{MaxQueue: maxQueue}
	if maxWait != 0 {
		in.MaxWait = maxWait.String()
	}
	var out wire.HoldResult
	return &out, c.call(ctx, "POST", appPath(app, "/hold"), in, &out)
}

// Unhold lets the app's held requests through, in the order they came.
func (c *Client) Unhold(ctx context.Context, app string) (*wire.HoldResult, error) {
	var out wire.HoldResult
	return &out, c.call(ctx, "POST", appPath(app, "/unhold"), nil, &out)
}
