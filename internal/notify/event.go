package notify

import (
	"fmt"
	"strings"
	"time"
)

// The kinds of event a rollout reports.
const (
	KindStarted    = "started"
	KindStepPassed = "step_passed"
	KindPaused     = "paused"
	KindResumed    = "resumed"
	KindFailed     = "failed"
	KindRolledBack = "rolled_back"
	KindSucceeded  = "succeeded"
)

// Event is one thing that happened to a rollout, as POSTed to webhooks.
// The JSON field "text" is what Slack (and compatible receivers) show.
type Event struct {
	Kind     string    `json:"kind"` // one of the Kind constants
	App      string    `json:"app"`
	Rollout  int64     `json:"rollout"`
	Release  int       `json:"release"` // the target release
	From     int       `json:"from"`    // the release live before
	Strategy string    `json:"strategy"`
	Step     int       `json:"step,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Time     time.Time `json:"time"`
	Text     string    `json:"text"` // one human line, for Slack and the like
}

// Line returns the one-line human summary of e, for example
// "hello: rollout #7 to v3 rolled back: canary analysis failed: 5xx rate 12%".
// It ignores e.Text.
func (e Event) Line() string {
	var b strings.Builder
	if e.App != "" {
		b.WriteString(e.App)
		b.WriteString(": ")
	}
	b.WriteString("rollout")
	if e.Rollout != 0 {
		fmt.Fprintf(&b, " #%d", e.Rollout)
	}
	if e.Release != 0 {
		fmt.Fprintf(&b, " to v%d", e.Release)
	}
	switch e.Kind {
	case KindStarted:
		b.WriteString(" started")
		var detail []string
		if e.Strategy != "" {
			detail = append(detail, e.Strategy)
		}
		if e.From != 0 {
			detail = append(detail, fmt.Sprintf("from v%d", e.From))
		}
		if len(detail) > 0 {
			b.WriteString(" (" + strings.Join(detail, ", ") + ")")
		}
	case KindStepPassed:
		b.WriteString(" passed")
		if e.Step != 0 {
			fmt.Fprintf(&b, " step %d", e.Step)
		} else {
			b.WriteString(" a step")
		}
	case KindPaused, KindResumed:
		b.WriteString(" " + e.Kind)
		if e.Step != 0 {
			fmt.Fprintf(&b, " at step %d", e.Step)
		}
	case KindRolledBack:
		b.WriteString(" rolled back")
	case "":
		b.WriteString(" event")
	default:
		b.WriteString(" " + strings.ReplaceAll(e.Kind, "_", " "))
	}
	if r := oneLine(e.Reason); r != "" {
		b.WriteString(": ")
		b.WriteString(r)
	}
	return b.String()
}

// oneLine folds runs of whitespace, newlines included, into single spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
