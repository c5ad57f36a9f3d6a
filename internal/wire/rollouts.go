package wire

import "time"

// RolloutState is a rollout's place in its state machine:
//
//	pending → building → starting → shifting → verifying → done
//	any non-terminal state → rolling_back → rolled_back
//	pending | building → failed   (nothing was changed, nothing to undo)
//
// paused is entered from shifting and left back to it.
type RolloutState string

const (
	RolloutPending     RolloutState = "pending"
	RolloutBuilding    RolloutState = "building"
	RolloutStarting    RolloutState = "starting"
	RolloutShifting    RolloutState = "shifting"
	RolloutPaused      RolloutState = "paused"
	RolloutVerifying   RolloutState = "verifying"
	RolloutDone        RolloutState = "done"
	RolloutFailed      RolloutState = "failed"
	RolloutRollingBack RolloutState = "rolling_back"
	RolloutRolledBack  RolloutState = "rolled_back"
)

// Valid reports whether s is a known state.
func (s RolloutState) Valid() bool {
	switch s {
	case RolloutPending, RolloutBuilding, RolloutStarting, RolloutShifting, RolloutPaused,
		RolloutVerifying, RolloutDone, RolloutFailed, RolloutRollingBack, RolloutRolledBack:
		return true
	}
	return false
}

// Terminal reports whether a rollout in s is over.
func (s RolloutState) Terminal() bool {
	return s == RolloutDone || s == RolloutFailed || s == RolloutRolledBack
}

// Succeeded reports whether a rollout in s made its target live.
func (s RolloutState) Succeeded() bool { return s == RolloutDone }

// RolloutKind says why a rollout was made.
type RolloutKind string

const (
	KindDeploy   RolloutKind = "deploy"
	KindRollback RolloutKind = "rollback"
	KindScale    RolloutKind = "scale"
	KindStart    RolloutKind = "start"
	KindEnv      RolloutKind = "env"
	KindRecover  RolloutKind = "recover"
	KindStop     RolloutKind = "stop"
)

// Rollout moves an app from one release (or instance count) to another.
// It answers a deploy and every action that starts a rollout (202), and
// ends a rollout's event stream.
type Rollout struct {
	ID          int64        `json:"id"`
	App         string       `json:"app"`
	Kind        RolloutKind  `json:"kind"`
	FromRelease int          `json:"from_release"`
	ToRelease   int          `json:"to_release"`
	Instances   int          `json:"instances"`
	Strategy    string       `json:"strategy"`
	State       RolloutState `json:"state"`
	Step        int          `json:"step"`
	Reason      string       `json:"reason,omitempty"`
	CreatedBy   string       `json:"created_by"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
	FinishedAt  time.Time    `json:"finished_at,omitempty"`
}
