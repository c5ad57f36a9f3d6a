package wire

// Result answers an action that took effect at once, in words (200),
// where one that starts a rollout answers the Rollout (202).
type Result struct {
	Result string `json:"result"`
}

// Deleted answers the deletion of an app.
type Deleted struct {
	Deleted string `json:"deleted"`
}

// Whoami is who the request's token acts as.
type Whoami struct {
	Name string `json:"name"`
	Role string `json:"role"` // admin or member
}

// Health answers GET /healthz.
type Health struct {
	Status  string `json:"status"` // ok, or degraded
	Version string `json:"version"`
	// Problems counts the rollouts whose state nonstop could not record
	// (each app's status names its own).
	Problems int `json:"problems,omitempty"`
}
