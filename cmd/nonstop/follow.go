package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nonstopdev/nonstop/internal/client"
	"github.com/nonstopdev/nonstop/internal/wire"
)

// follow prints a rollout's events until it ends, with a progress bar on a
// terminal, and turns its outcome into the exit code.
func follow(cmd *cobra.Command, c *client.Client, app string, id int64) error {
	out := cmd.OutOrStdout()
	p := &progress{w: out, tty: isTerminal(out)}
	end, err := c.Follow(cmd.Context(), app, id, p.event)
	p.clear()
	if err != nil {
		return fmt.Errorf("follow deploy #%d: %w (it goes on: `nonstop status %s`)", id, err, app)
	}
	if end.State == wire.RolloutDone {
		fmt.Fprintf(out, "✓ %s: v%d is live\n", app, end.ToRelease)
		if st, err := c.Status(cmd.Context(), app); err == nil && len(st.URLs) > 0 {
			fmt.Fprintf(out, "  %s\n", strings.Join(st.URLs, "\n  "))
		}
		return nil
	}
	msg := fmt.Sprintf("deploy #%d of %s %s: %s", id, app, strings.ReplaceAll(string(end.State), "_", " "), end.Reason)
	if end.State == wire.RolloutRolledBack && end.FromRelease > 0 {
		msg += fmt.Sprintf("\nv%d keeps serving", end.FromRelease)
	}
	return &exitError{code: 1, msg: msg}
}

// progress prints rollout events; on a terminal it keeps a bar on the last line.
type progress struct {
	w     io.Writer
	tty   bool
	bar   string
	shown bool
}

func (p *progress) event(e wire.Event) {
	if e.Kind == "progress" {
		ready, _ := e.Data["ready"].(float64)
		total, _ := e.Data["total"].(float64)
		if !p.tty {
			fmt.Fprintf(p.w, "  progress: %s\n", e.Message)
			return
		}
		p.bar = renderBar(int(ready), int(total), e.Message)
		p.redraw()
		return
	}
	p.clear()
	switch e.Kind {
	case "log":
		fmt.Fprintf(p.w, "  | %s\n", e.Message)
	default:
		fmt.Fprintf(p.w, "%s %s\n", e.Time.Local().Format("15:04:05"), e.Message)
	}
	p.redraw()
}

func renderBar(ready, total int, label string) string {
	const width = 30
	fill := 0
	if total > 0 {
		fill = min(width, ready*width/total)
	}
	return fmt.Sprintf("[%s%s] %s", strings.Repeat("#", fill), strings.Repeat("-", width-fill), label)
}

func (p *progress) redraw() {
	if p.tty && p.bar != "" {
		fmt.Fprintf(p.w, "\r\033[K%s", p.bar)
		p.shown = true
	}
}

func (p *progress) clear() {
	if p.tty && p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}
