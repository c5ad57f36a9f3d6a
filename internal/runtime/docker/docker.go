// Package docker runs instances as containers through the Docker Engine API
// (Podman's compatible API works too).
//
// Each instance is one container named nonstop-ID, labelled with
// io.nonstop.managed=true and the instance's app, release, ID, container
// port and address, so that a later run of the control plane finds it again
// (Adopt, List) without any state of its own. The container's port is
// published on a loopback port that Start picks and pins: Docker's restart
// policy restarts a crashed container on that same address (a port left for
// the Engine to pick is picked again at every restart).
//
// Supervision is the Engine's: containers run with the unless-stopped
// restart policy, so a crashed instance is restarted with the Engine's
// backoff (100ms doubling up to 1 minute, reset after 10s up), whatever its
// exit code, and again when dockerd or the machine restarts; an instance
// stops for good only when Stop stops it. Health is checked from outside
// (the proxy, the rollout engine), so scratch and distroless images work.
//
// An app's volumes (runtime.Volume) are Docker named volumes, NamePrefix+
// APP-NAME (nonstop-shop-data), created when missing with the managed,
// scope, app and volume labels, and mounted at the volume's path, which
// $NONSTOP_VOLUME_<NAME> holds too. They outlive containers and releases:
// Stop and Remove never delete them.
//
// Each app's containers join a bridge network of their own (nonstop-
// SCOPE-APP, created when missing with the managed, scope and app labels):
// one app's containers cannot reach another's. RemoveApp removes it.
//
// A Runtime holds no instance state: it can be closed and a new one created
// (a restarted control plane) and every method still works on every
// container it or an earlier run started.
package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/filters"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/nonstopdev/nonstop/internal/keylock"
	"github.com/nonstopdev/nonstop/internal/runtime"
)

var _ runtime.Runtime = (*Runtime)(nil)

// ErrClosed is returned by Start and Adopt after Close.
var ErrClosed = errors.New("docker runtime closed")

// ErrRunning is returned by Start for an instance whose container is running
// (or restarting), and by Remove for one that is not stopped.
var ErrRunning = errors.New("instance is running")

// Labels set on every container the runtime creates.
const (
	LabelManaged  = "io.nonstop.managed"  // "true"
	LabelApp      = "io.nonstop.app"      // app name
	LabelRelease  = "io.nonstop.release"  // release version, e.g. "3"
	LabelInstance = "io.nonstop.instance" // instance ID
	LabelPort     = "io.nonstop.port"     // the port the app listens on in its container
	LabelAddr     = "io.nonstop.addr"     // where it is published: 127.0.0.1:PORT
	LabelScope    = "io.nonstop.scope"    // the installation it belongs to (Options.Scope)
	LabelVolume   = "io.nonstop.volume"   // on a volume (with managed, scope, app): the app's volume name
)

// NamePrefix starts the name of every container the runtime creates:
// the container of instance ID is named NamePrefix+ID.
const NamePrefix = "nonstop-"

const (
	defaultPort   = 8080             // container port when the spec has none
	pingTimeout   = 10 * time.Second // New's bound on reaching the Engine
	statsTimeout  = 5 * time.Second  // Status's bound on reading resource use
	sinceStartMin = 10 * time.Second // a first CPU reading averages since start only after this
	cleanupWait   = 30 * time.Second // bound on removing what a failed Start left
	killWait      = 10 * time.Second // bound on the SIGKILL when Stop's ctx ends first
	portAttempts  = 3                // Start's tries when the picked port was taken meanwhile
)

// Options configure a Runtime.
type Options struct {
	// Host is the Engine's address, e.g. unix:///run/podman/podman.sock.
	// Empty: $DOCKER_HOST, else the default unix:///var/run/docker.sock.
	Host   string
	Logger *slog.Logger // nil: discard
	// Network is the network every app's containers join (it must
	// exist). Empty: each app has a bridge network of its own, created at
	// its first Start and removed by RemoveApp, so that no app's
	// containers reach another's.
	Network string
	// Scope marks the containers of one nonstop installation, so that
	// several can share an Engine: a Runtime sees only its scope's.
	Scope string
}

// Runtime runs instances as containers. It implements runtime.Runtime.
type Runtime struct {
	cli  *client.Client
	log  *slog.Logger
	opts Options
	keys keylock.Map // serialises Start, Stop, Adopt, Remove on one ID

	mu      sync.Mutex
	closed  bool
	samples map[string]cpuSample // by container ID: the last CPU reading, for CPUPercent
}

// New connects to the Engine (with API version negotiation, so older
// Engines such as Debian 12's 20.10 work) and checks that it answers.
func New(ctx context.Context, opts Options) (*Runtime, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	copts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if opts.Host != "" {
		copts = append(copts, client.WithHost(opts.Host))
	}
	cli, err := client.NewClientWithOpts(copts...)
	if err != nil {
		return nil, fmt.Errorf("docker runtime: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if _, err := cli.Ping(pctx); err != nil {
		cli.Close()
		return nil, fmt.Errorf("Docker Engine not reachable at %s: %w (is dockerd running? scripts/docker.sh starts it)", cli.DaemonHost(), err)
	}
	if opts.Network != "" {
		if _, err := cli.NetworkInspect(pctx, opts.Network, network.InspectOptions{}); err != nil {
			cli.Close()
			return nil, fmt.Errorf("docker runtime: network %q: %w", opts.Network, err)
		}
	}
	return &Runtime{
		cli:     cli,
		log:     opts.Logger.With("runtime", "docker"),
		opts:    opts,
		samples: make(map[string]cpuSample),
	}, nil
}

// Name returns "docker".
func (r *Runtime) Name() string { return "docker" }

// Host returns the address of the Engine the Runtime talks to.
func (r *Runtime) Host() string { return r.cli.DaemonHost() }

// Close releases the connection to the Engine. Containers are not touched:
// they keep running, restarted by the Engine, to be adopted by the next run.
// After Close, Start and Adopt fail with ErrClosed; the other methods still
// work.
func (r *Runtime) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return r.cli.Close()
}

func (r *Runtime) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// containerName is the name of instance id's container.
func containerName(id string) string { return NamePrefix + id }

// validID reports whether id can name a container: letters, digits, '.',
// '_' and '-', not starting with '.' or '-'.
func validID(id string) bool {
	if id == "" || len(id) > 128 || id[0] == '.' || id[0] == '-' {
		return false
	}
	return strings.IndexFunc(id, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-')
	}) < 0
}

// scopeFilter narrows a container listing to the Runtime's own.
func (r *Runtime) scopeFilter() filters.KeyValuePair {
	return filters.Arg("label", LabelScope+"="+r.opts.Scope)
}
