package client

import (
	"context"
	"fmt"
	"io"

	"github.com/nonstopdev/nonstop/internal/wire"
)

// Runs lists an app's pipeline runs, newest first.
func (c *Client) Runs(ctx context.Context, app string) ([]wire.RunView, error) {
	var out []wire.RunView
	return out, c.call(ctx, "GET", appPath(app, "/runs"), nil, &out)
}

// Run returns one run with its stages.
func (c *Client) Run(ctx context.Context, app string, n int) (*wire.RunView, error) {
	var out wire.RunView
	return &out, c.call(ctx, "GET", appPath(app, fmt.Sprintf("/runs/%d", n)), nil, &out)
}

// RunLogs copies a run's log to w.
func (c *Client) RunLogs(ctx context.Context, app string, n int, w io.Writer) error {
	resp, err := c.request(ctx, "GET", appPath(app, fmt.Sprintf("/runs/%d/logs", n)), nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

// CancelRun cancels a queued or running run.
func (c *Client) CancelRun(ctx context.Context, app string, n int) (*wire.Run, error) {
	var out wire.Run
	return &out, c.call(ctx, "POST", appPath(app, fmt.Sprintf("/runs/%d/cancel", n)), nil, &out)
}
