package wire

import "time"

// RunState is where a pipeline run is.
type RunState string

const (
	RunQueued     RunState = "queued"     // waits for the app's current rollout to end
	RunRunning    RunState = "running"    // fetching, building, deploying or verifying
	RunSucceeded  RunState = "succeeded"  // its release is live
	RunFailed     RunState = "failed"     // fetch, build or rollout failed; the live release serves on
	RunCancelled  RunState = "cancelled"  // cancelled by a user
	RunSuperseded RunState = "superseded" // a newer commit came while it was queued
)

// Terminal reports whether a run in s is over.
func (s RunState) Terminal() bool { return s != RunQueued && s != RunRunning }

// Succeeded reports whether a run in s made its release live.
func (s RunState) Succeeded() bool { return s == RunSucceeded }

// Run is one pipeline run: trigger → fetch → build → push → deploy → verify.
type Run struct {
	App        string    `json:"app"`
	Number     int       `json:"number"`
	Trigger    string    `json:"trigger"` // push, webhook, poll, upload, cli
	Commit     string    `json:"commit,omitempty"`
	Ref        string    `json:"ref,omitempty"`
	Repo       string    `json:"repo,omitempty"`
	StartedBy  string    `json:"started_by"`
	State      RunState  `json:"state"`
	RolloutID  int64     `json:"rollout_id,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	StartedAt  time.Time `json:"started_at,omitempty"`
	FetchedAt  time.Time `json:"fetched_at,omitempty"`
	FinishedAt time.Time `json:"finished_at,omitempty"`
}

// RunView is a run with its stages, as `nonstop runs` shows it.
type RunView struct {
	Run
	Stages []Stage `json:"stages"`
}

// Stage is one stage of a run.
type Stage struct {
	Name     string        `json:"name"`   // fetch, build, push, deploy, verify
	Status   string        `json:"status"` // pending, running, ok, failed, skipped
	Started  time.Time     `json:"started,omitempty"`
	Finished time.Time     `json:"finished,omitempty"`
	Duration time.Duration `json:"duration,omitempty"`
}

// QueuedRun answers a deploy of a git revision (202): the run that will
// fetch and deploy it.
type QueuedRun struct {
	Run   int      `json:"run"`
	State RunState `json:"state"`
}
