package wire

import "time"

// Event is one line of an app's history: a state change, a build log line,
// progress of a rollout. A rollout's event stream (Server-Sent Events)
// carries each as an event named by its Kind.
type Event struct {
	ID        int64          `json:"id"`
	RolloutID int64          `json:"rollout_id,omitempty"`
	Time      time.Time      `json:"time"`
	Kind      string         `json:"kind"`
	Message   string         `json:"message"`
	Data      map[string]any `json:"data,omitempty"`
}

// EventEnd names the last event of a rollout's stream; its data is the
// Rollout as it ended.
const EventEnd = "end"
