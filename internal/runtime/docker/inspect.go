package docker

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/go-connections/nat"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

// Adopt finds the container of an instance started by an earlier run of the
// control plane. Supervision stays with the Engine, so adopting is finding:
// a running or restarting container is returned with its address (the same
// as when it was started); a stopped, removed or unknown one is
// runtime.ErrNotFound.
func (r *Runtime) Adopt(ctx context.Context, id string) (runtime.Instance, error) {
	if !validID(id) {
		return runtime.Instance{}, fmt.Errorf("adopt %q: %w", id, runtime.ErrNotFound)
	}
	unlock, err := r.keys.Lock(ctx, id)
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("adopt %s: %w", id, err)
	}
	defer unlock()
	if r.isClosed() {
		return runtime.Instance{}, fmt.Errorf("adopt %s: %w", id, ErrClosed)
	}
	ins, err := r.inspect(ctx, id)
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("adopt %s: %w", id, err)
	}
	if !ins.State.Running && !ins.State.Restarting {
		return runtime.Instance{}, fmt.Errorf("adopt %s: container %s is %s: %w", id, containerName(id), ins.State.Status, runtime.ErrNotFound)
	}
	inst, ok := instanceOf(ins)
	if !ok {
		return runtime.Instance{}, fmt.Errorf("adopt %s: container %s has no published port", id, containerName(id))
	}
	r.log.Info("instance adopted", "id", id, "addr", inst.Addr, "state", ins.State.Status)
	return inst, nil
}

// Status reports on an instance's container: running, restarting (it
// exited and the Engine starts it again after a backoff) or exited
// (stopped), its restarts and last exit, and for a running one its CPU and
// memory use. Reading resource use takes one sample from the Engine, which
// Docker 20.10 answers at its next 1s collection tick; CPUPercent (100 = one
// core) is the average since the previous Status of that container (0 at
// the first Status of a container up for less than 10s: unknown yet). The Engine resets the exit code when it restarts a
// container: ExitCode is the last exit's while the instance is restarting
// or exited, 0 while it runs (LastExit still says when it last exited).
func (r *Runtime) Status(ctx context.Context, id string) (runtime.Status, error) {
	if !validID(id) {
		return runtime.Status{}, fmt.Errorf("status %q: %w", id, runtime.ErrNotFound)
	}
	ins, err := r.inspect(ctx, id)
	if err != nil {
		return runtime.Status{}, fmt.Errorf("status %s: %w", id, err)
	}
	st := runtime.Status{
		State:    stateOf(ins.State),
		Restarts: ins.RestartCount,
		ExitCode: ins.State.ExitCode,
		LastExit: parseTime(ins.State.FinishedAt),
	}
	if st.State == runtime.StateRunning {
		st.PID = ins.State.Pid
	}
	return st, nil
}

// Usage reads a running container's CPU and memory use (see Status for
// what the figures mean). It takes up to a second: the Engine answers at
// its next stats tick, so Status leaves it out.
func (r *Runtime) Usage(ctx context.Context, id string) (runtime.Usage, error) {
	if !validID(id) {
		return runtime.Usage{}, fmt.Errorf("usage %q: %w", id, runtime.ErrNotFound)
	}
	ins, err := r.inspect(ctx, id)
	if err != nil {
		return runtime.Usage{}, fmt.Errorf("usage %s: %w", id, err)
	}
	if !ins.State.Running {
		return runtime.Usage{}, nil
	}
	return r.usage(ctx, ins.ID, parseTime(ins.State.StartedAt)), nil
}

// List returns the instance of every container labelled as nonstop's, in
// any state, sorted by ID.
func (r *Runtime) List(ctx context.Context) ([]runtime.Instance, error) {
	cs, err := r.list(ctx, filters.Arg("label", LabelManaged+"=true"), r.scopeFilter())
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	out := make([]runtime.Instance, 0, len(cs))
	for _, c := range cs {
		out = append(out, summaryInstance(c))
	}
	slices.SortFunc(out, func(a, b runtime.Instance) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (r *Runtime) list(ctx context.Context, args ...filters.KeyValuePair) ([]container.Summary, error) {
	return r.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(args...)})
}

// inspect returns the container of instance id, or runtime.ErrNotFound when
// there is none or the container of that name is not nonstop's.
func (r *Runtime) inspect(ctx context.Context, id string) (container.InspectResponse, error) {
	ins, err := r.cli.ContainerInspect(ctx, containerName(id))
	if cerrdefs.IsNotFound(err) {
		return ins, runtime.ErrNotFound
	}
	if err != nil {
		return ins, err
	}
	if ins.ContainerJSONBase == nil || ins.State == nil || ins.Config == nil ||
		ins.Config.Labels[LabelManaged] != "true" || ins.Config.Labels[LabelInstance] != id || ins.Config.Labels[LabelScope] != r.opts.Scope {
		return ins, fmt.Errorf("container %s is not nonstop's: %w", containerName(id), runtime.ErrNotFound)
	}
	return ins, nil
}

// stateOf maps the Engine's view of a container to the runtime's.
func stateOf(s *container.State) runtime.State {
	switch {
	case s.Restarting:
		return runtime.StateRestarting
	case s.Running: // paused included: it exists and keeps its address
		return runtime.StateRunning
	default: // created, exited, dead, removing
		return runtime.StateExited
	}
}

// instanceOf builds the instance of an inspected container: its address is
// where its port is published (as bound now, else as asked at creation, which
// is the same pinned port while the container restarts).
func instanceOf(ins container.InspectResponse) (runtime.Instance, bool) {
	labels := ins.Config.Labels
	inst := runtime.Instance{
		ID:        labels[LabelInstance],
		App:       labels[LabelApp],
		StartedAt: parseTime(ins.Created),
	}
	inst.Release, _ = strconv.Atoi(labels[LabelRelease])
	if ins.State != nil && ins.State.Running && !ins.State.Restarting {
		inst.PID = ins.State.Pid
	}
	port := labels[LabelPort]
	if port == "" {
		port = strconv.Itoa(defaultPort)
	}
	cport := nat.Port(port + "/tcp")
	var bindings []nat.PortBinding
	if ins.NetworkSettings != nil {
		bindings = ins.NetworkSettings.Ports[cport]
	}
	if len(bindings) == 0 && ins.HostConfig != nil {
		bindings = ins.HostConfig.PortBindings[cport]
	}
	// Start binds 127.0.0.1 only; a container changed by hand may have
	// other bindings, of which any on all interfaces is reachable there too.
	for _, b := range bindings {
		switch b.HostIP {
		case "127.0.0.1", "", "0.0.0.0":
			if b.HostPort != "" && b.HostPort != "0" {
				inst.Addr = net.JoinHostPort("127.0.0.1", b.HostPort)
				return inst, true
			}
		}
	}
	return inst, false
}

// summaryInstance builds an instance from a listed container: its address
// is the one recorded in its labels at creation.
func summaryInstance(c container.Summary) runtime.Instance {
	inst := runtime.Instance{
		ID:        c.Labels[LabelInstance],
		App:       c.Labels[LabelApp],
		Addr:      c.Labels[LabelAddr],
		StartedAt: time.Unix(c.Created, 0),
	}
	inst.Release, _ = strconv.Atoi(c.Labels[LabelRelease])
	return inst
}

// parseTime parses the Engine's RFC 3339 times; the zero time stands for
// never ("0001-01-01T00:00:00Z") and for what does not parse.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}
