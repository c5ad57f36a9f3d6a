package rollout

import (
	"fmt"
	"slices"
	"time"
)

// A Problem is something the engine could not record: the store refused
// or failed a rollout's final state, which the store then still shows as
// it was. It stays listed (GET /healthz says so) until the rollout's state
// is recorded after all: by its next transition, or when a restart of
// nonstop resumes it.
type Problem struct {
	Rollout int64     `json:"rollout"`
	App     string    `json:"app"`
	Time    time.Time `json:"time"`
	What    string    `json:"what"`
}

func (p Problem) String() string {
	return fmt.Sprintf("%s: rollout #%d: %s", p.App, p.Rollout, p.What)
}

// Problems lists what the engine could not record, oldest first.
func (e *Engine) Problems() []Problem {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Problem, 0, len(e.problems))
	for _, p := range e.problems {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Problem) int { return a.Time.Compare(b.Time) })
	return out
}
