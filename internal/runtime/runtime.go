// Package runtime defines the contract between the rollout engine and the
// places where instances run (processes, containers, pods). The engine asks a
// runtime to start and stop instances and to report on them; it never needs to
// know which runtime it drives.
package runtime

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
	"time"
)

// ErrNotFound is returned for an instance the runtime does not know.
var ErrNotFound = errors.New("instance not found")

// InstanceSpec is everything a runtime needs to start one instance.
type InstanceSpec struct {
	ID      string            // unique and stable: the same ID is used to find the instance again
	App     string            // app name
	Release int               // release version (vN)
	Dir     string            // working directory (process runtime: the release directory)
	Command string            // start command, run with `sh -c`; it must listen on $PORT
	Env     map[string]string // the app's environment; the runtime adds PORT
	// Port: process runtime: the port to listen on (0: a free loopback port
	// is picked). Container runtimes: the port the app listens on inside
	// its container (0: 8080); it is published on a free loopback port.
	Port int
	// Image is what container runtimes run: a pinned reference
	// (REGISTRY/APP@sha256:...) or a local image ID. The process runtime
	// ignores it.
	Image string
	// Volumes are the app's persistent storage, mounted in the instance.
	Volumes []Volume
	// Limits cap the instance's CPU and memory (nonstop.yaml's
	// resources.limits). The docker runtime applies them to the container,
	// the process runtime to a control group of the instance's own
	// (package cgroup; uncapped, and saying so, where the machine cannot). resources.requests, how Kubernetes
	// schedules pods, have no counterpart here: requests alone leave the
	// instance uncapped. (The kubernetes runtime reads both from the app's
	// spec, not from InstanceSpec.)
	Limits Limits
	// User, when set, is the system account the instance runs as (the
	// process runtime: its uid and gid, and an environment of its own:
	// nothing of the server's but a plain PATH). Nil: the runtime's own
	// user and environment.
	User *Account
}

// Account is a system user an instance runs as.
type Account struct {
	Name     string
	UID, GID uint32
	Home     string // its HOME ("": /)
}

// Environ is the base environment of what runs as a: the server's PATH
// (where the toolchains are), its HOME and user, a UTF-8 locale; nothing
// else of the server's.
func (a *Account) Environ() []string {
	home := a.Home
	if home == "" {
		home = "/"
	}
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	return []string{"PATH=" + path, "HOME=" + home, "USER=" + a.Name, "LOGNAME=" + a.Name, "LANG=C.UTF-8"}
}

// Credential is how a process is started as a: its uid and gid, and no
// supplementary group of the server's.
func (a *Account) Credential() *syscall.Credential {
	return &syscall.Credential{Uid: a.UID, Gid: a.GID, Groups: []uint32{}}
}

// Limits are the most CPU and memory one instance may use; 0 is no limit.
type Limits struct {
	NanoCPUs    int64 // CPU in billionths of a core: 500_000_000 is half a core
	MemoryBytes int64 // memory in bytes
}

// Volume is persistent storage that outlives instances and releases: one
// per app and name, found again by every instance of the app that names it,
// and never removed by Stop or Remove. Container runtimes mount it at Path;
// the process runtime, which cannot, gives a folder of its own instead.
// Either way the instance's environment has $NONSTOP_VOLUME_<NAME> (see
// VolumeEnv) set to where it finds the volume.
type Volume struct {
	Name string // lower-case letters, digits and '-' (a DNS label)
	Path string // absolute path in the instance's file system
}

// VolumeEnv is the environment variable that tells an instance where volume
// name is: NONSTOP_VOLUME_ and the name upper-cased, '-' turned to '_'
// ("cache-2" → NONSTOP_VOLUME_CACHE_2).
func VolumeEnv(name string) string {
	return "NONSTOP_VOLUME_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// Instance is a started instance, where the proxy can reach it.
type Instance struct {
	ID        string    `json:"id"`
	App       string    `json:"app"`
	Release   int       `json:"release"`
	Addr      string    `json:"addr"` // host:port on loopback
	PID       int       `json:"pid,omitempty"`
	StartedAt time.Time `json:"started_at"`
}

// State is what a runtime observes of one instance.
type State string

const (
	StateRunning    State = "running"    // the instance's process is alive
	StateRestarting State = "restarting" // it exited and the runtime will start it again after a backoff
	StateExited     State = "exited"     // it exited and will not be started again (stopped)
)

// Status is a runtime's report on one instance.
type Status struct {
	State    State     `json:"state"`
	PID      int       `json:"pid,omitempty"`
	Restarts int       `json:"restarts"`
	ExitCode int       `json:"exit_code,omitempty"`
	LastExit time.Time `json:"last_exit,omitempty"`
	// Resource use, when the runtime measures it (0: unknown).
	CPUPercent  float64 `json:"cpu_percent,omitempty"`
	MemoryBytes int64   `json:"memory_bytes,omitempty"`
}

// Runtime starts, supervises and stops instances.
//
// Contract:
//   - Start returns once the instance's process (container, pod) exists; it
//     does not wait for the instance to be healthy: health is checked from
//     outside, by the engine and the proxy. A failed Start leaves nothing
//     running. The runtime keeps a crashed instance running by restarting it
//     with a backoff, on the same address.
//   - Stop is idempotent: stopping a stopped or unknown instance returns nil.
//     It sends a graceful stop signal, waits up to grace, then kills. Callers
//     drain traffic from the instance before they call Stop.
//   - Adopt finds an instance started by an earlier run of the control plane
//     (after a restart) and resumes supervising it; it returns ErrNotFound if
//     the instance is gone.
//   - Instances outlive the control plane: Close stops supervision but leaves
//     instances running.
//   - All methods are safe for concurrent use.
type Runtime interface {
	Name() string
	Start(ctx context.Context, spec InstanceSpec) (Instance, error)
	Stop(ctx context.Context, id string, grace time.Duration) error
	Adopt(ctx context.Context, id string) (Instance, error)
	Status(ctx context.Context, id string) (Status, error)
	// List returns every instance the runtime holds, running or not yet cleaned up.
	List(ctx context.Context) ([]Instance, error)
	// Logs returns the instance's output (stdout and stderr, interleaved),
	// starting tail lines from the end (tail <= 0: all), and when follow is
	// true keeps streaming new output until ctx ends or the reader is closed.
	Logs(ctx context.Context, id string, tail int, follow bool) (io.ReadCloser, error)
	// Remove deletes what the runtime keeps of a stopped instance (logs, state).
	Remove(ctx context.Context, id string) error
	Close() error
}

// Runner is a Runtime that can run a command once, to its end, as an
// instance of spec would (its folder, account, environment, volumes): a
// release phase.
type Runner interface {
	Run(ctx context.Context, spec InstanceSpec, out io.Writer) error
}

// AppRemover is a Runtime that keeps something per app beyond its
// instances (the docker runtime's network), removed when the app is
// deleted, after its instances.
type AppRemover interface {
	RemoveApp(ctx context.Context, app string) error
}

// UsageReader is a Runtime that can measure an instance's resource use.
// A reading may take a second or so, which is why Status leaves it out.
type UsageReader interface {
	Usage(ctx context.Context, id string) (Usage, error)
}

// Usage is an instance's resource use at one reading; zero for an
// instance that does not run.
type Usage struct {
	// CPUPercent is the CPU it used since the previous reading (or an
	// average since it started), in percent of one core; 0: not known yet.
	CPUPercent float64
	// CPUSeconds is the CPU time it has used since it (last) started.
	CPUSeconds float64
	// MemoryBytes is the memory it holds (a container's without its
	// inactive page cache; processes' resident set).
	MemoryBytes int64
}
