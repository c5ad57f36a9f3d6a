package wire

import "time"

// InstanceState is where an instance is in its life.
type InstanceState string

const (
	InstanceStarting InstanceState = "starting" // started, not yet healthy, takes no traffic
	InstanceServing  InstanceState = "serving"  // healthy and in the route
	InstanceDraining InstanceState = "draining" // out of the route, in-flight requests finishing
	InstanceStopped  InstanceState = "stopped"  // stopped after draining
	InstanceFailed   InstanceState = "failed"   // never became healthy; stopped
)

// Instance is one running copy of a release, as the store, the runtime
// and the proxy know it.
type Instance struct {
	ID        string        `json:"id"`
	Release   int           `json:"release"`
	RolloutID int64         `json:"rollout_id"`
	Addr      string        `json:"addr"`
	State     InstanceState `json:"state"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
	// Runtime and Proxy are what the runtime and the proxy report of it,
	// when they know it.
	Runtime *RuntimeStatus `json:"runtime,omitempty"`
	Proxy   *BackendStatus `json:"proxy,omitempty"`
	// On Kubernetes, an instance is a pod: its node, and why it is not
	// ready (Kubernetes' readiness, not the proxy's).
	Node    string `json:"node,omitempty"`
	Problem string `json:"problem,omitempty"`
}

// RuntimeStatus is a runtime's report on one instance.
type RuntimeStatus struct {
	State    string    `json:"state"` // running, restarting or exited
	PID      int       `json:"pid,omitempty"`
	Restarts int       `json:"restarts"`
	ExitCode int       `json:"exit_code,omitempty"`
	LastExit time.Time `json:"last_exit,omitempty"`
	// Resource use, when the runtime measures it (0: unknown).
	CPUPercent  float64 `json:"cpu_percent,omitempty"`
	MemoryBytes int64   `json:"memory_bytes,omitempty"`
}

// BackendStatus is the proxy's view of one instance.
type BackendStatus struct {
	ID       string `json:"id"`      // instance ID
	Addr     string `json:"addr"`    // host:port
	Release  int    `json:"release"` // release version
	Healthy  bool   `json:"healthy"`
	InFlight int64  `json:"in_flight"`
	Requests int64  `json:"requests"`
	Failures int64  `json:"failures"`
	LastErr  string `json:"last_error,omitempty"`
}
