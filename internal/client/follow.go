package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/nonstopdev/nonstop/internal/wire"
)

// Follow streams a rollout's events to fn until it is over, and returns the
// rollout as it ended. It reconnects from the last event if the stream breaks.
func (c *Client) Follow(ctx context.Context, app string, id int64, fn func(wire.Event)) (*wire.Rollout, error) {
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

func (c *Client) follow(ctx context.Context, app string, id int64, last *int64, fn func(wire.Event)) (*wire.Rollout, error) {
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
			if event == wire.EventEnd {
				var r wire.Rollout
				if err := json.Unmarshal([]byte(data), &r); err != nil {
					return nil, fmt.Errorf("decode end of rollout: %w", err)
				}
				return &r, nil
			}
			var e wire.Event
			if err := json.Unmarshal([]byte(data), &e); err == nil {
				*last = e.ID
				fn(e)
			}
			event, data = "", ""
		}
	}
	return nil, fmt.Errorf("event stream of rollout #%d ended early: %v", id, sc.Err())
}
