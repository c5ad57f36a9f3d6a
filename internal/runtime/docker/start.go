package docker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/go-connections/nat"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

// Start creates and starts the container of spec.ID from spec.Image and
// returns once it runs (a container that exits at once is then restarting;
// Start does not wait for health). The app listens on spec.Port (0: 8080)
// in its container, given to it as $PORT; that port is published on a free
// loopback port, the instance's address for its whole life. It joins its
// app's own network (see appNetwork). Its volumes are
// mounted (named volumes, created when missing; see the package doc). Its
// spec.Limits cap the container's CPU (--cpus) and memory (--memory, with
// swap at the same value so that the memory limit holds); 0 leaves one
// uncapped. The Engine refuses less than 0.01 or more CPUs than the host
// has, and less than 6MB of memory.
//
// A stopped container left with the same ID is replaced; a running or
// restarting one is an ErrRunning: adopt it instead. The image must be
// present in the Engine (Start does not pull). A failed Start removes the
// container it created.
func (r *Runtime) Start(ctx context.Context, spec runtime.InstanceSpec) (runtime.Instance, error) {
	if !validID(spec.ID) {
		return runtime.Instance{}, fmt.Errorf("start instance: invalid id %q", spec.ID)
	}
	if spec.Image == "" {
		return runtime.Instance{}, fmt.Errorf("start %s: no image", spec.ID)
	}
	if spec.Port < 0 || spec.Port > 65535 {
		return runtime.Instance{}, fmt.Errorf("start %s: invalid port %d", spec.ID, spec.Port)
	}
	unlock, err := r.keys.Lock(ctx, spec.ID)
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	defer unlock()
	if r.isClosed() {
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, ErrClosed)
	}
	if err := r.clearStopped(ctx, spec.ID); err != nil {
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	mounts, err := r.volumeMounts(ctx, spec)
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	nw, err := r.appNetwork(ctx, spec.App)
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}

	for attempt := 1; ; attempt++ {
		hostPort, err := freePort()
		if err != nil {
			return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
		}
		inst, err := r.create(ctx, spec, nw, mounts, hostPort)
		// The port was free when picked; if something took it before the
		// Engine bound it, pick another.
		if err != nil && attempt < portAttempts && ctx.Err() == nil && portBusy(hostPort) {
			r.log.Debug("published port taken meanwhile, picking another", "id", spec.ID, "port", hostPort, "err", err)
			continue
		}
		if err != nil {
			return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
		}
		r.log.Info("instance started", "id", spec.ID, "image", spec.Image, "addr", inst.Addr)
		return inst, nil
	}
}

// clearStopped removes a stopped container left with id's name, and
// refuses a running one or one that nonstop did not create.
func (r *Runtime) clearStopped(ctx context.Context, id string) error {
	ins, err := r.cli.ContainerInspect(ctx, containerName(id))
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ins.Config == nil || ins.Config.Labels[LabelInstance] != id {
		return fmt.Errorf("container %s exists and was not created by nonstop", containerName(id))
	}
	if ins.State != nil && (ins.State.Running || ins.State.Restarting) {
		return fmt.Errorf("%w (container %s): adopt it", ErrRunning, containerName(id))
	}
	err = r.cli.ContainerRemove(ctx, ins.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove the stopped container %s: %w", containerName(id), err)
	}
	r.forget(ins.ID)
	return nil
}

// create creates and starts the container on network nw with mounts,
// publishing its port on 127.0.0.1:hostPort. On failure it removes what it
// created.
func (r *Runtime) create(ctx context.Context, spec runtime.InstanceSpec, nw string, mounts []mount.Mount, hostPort int) (runtime.Instance, error) {
	port := spec.Port
	if port == 0 {
		port = defaultPort
	}
	cport := nat.Port(strconv.Itoa(port) + "/tcp")
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(hostPort))
	env := maps.Clone(spec.Env)
	if env == nil {
		env = make(map[string]string)
	}
	env["PORT"] = strconv.Itoa(port)
	for _, v := range spec.Volumes {
		env[runtime.VolumeEnv(v.Name)] = v.Path
	}
	cfg := &container.Config{
		Image:        spec.Image,
		Env:          envList(env),
		ExposedPorts: nat.PortSet{cport: {}},
		Labels: map[string]string{
			LabelManaged:  "true",
			LabelScope:    r.opts.Scope,
			LabelApp:      spec.App,
			LabelRelease:  strconv.Itoa(spec.Release),
			LabelInstance: spec.ID,
			LabelPort:     strconv.Itoa(port),
			LabelAddr:     addr,
		},
	}
	hcfg := &container.HostConfig{
		PortBindings:  nat.PortMap{cport: {{HostIP: "127.0.0.1", HostPort: strconv.Itoa(hostPort)}}},
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyUnlessStopped},
		NetworkMode:   container.NetworkMode(nw),
		Mounts:        mounts,
		// What a web server needs, and no more: no privilege gained by
		// exec (setuid binaries), the capabilities to bind low ports, own
		// its files and drop to a user of its own (not raw sockets,
		// mknod, chroot, audit, file capabilities), a bounded process
		// count (no fork bomb takes the machine).
		SecurityOpt: []string{"no-new-privileges:true"},
		CapDrop:     []string{"ALL"},
		CapAdd:      webServerCaps,
		Resources:   container.Resources{PidsLimit: &pidsLimit},
	}
	if spec.Limits.NanoCPUs > 0 {
		hcfg.NanoCPUs = spec.Limits.NanoCPUs
	}
	if spec.Limits.MemoryBytes > 0 {
		hcfg.Memory = spec.Limits.MemoryBytes
		hcfg.MemorySwap = spec.Limits.MemoryBytes // memory and swap together: no swap beyond the limit
	}
	created, err := r.cli.ContainerCreate(ctx, cfg, hcfg, nil, nil, containerName(spec.ID))
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return runtime.Instance{}, fmt.Errorf("create container from image %s (Start does not pull images): %w", spec.Image, err)
		}
		return runtime.Instance{}, fmt.Errorf("create container: %w", err)
	}
	inst, err := r.startCreated(ctx, created.ID)
	if err != nil {
		// ctx may be over: clean up on a context of our own.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupWait)
		defer cancel()
		if rerr := r.cli.ContainerRemove(cctx, created.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); rerr != nil && !cerrdefs.IsNotFound(rerr) {
			err = errors.Join(err, fmt.Errorf("remove the container: %w", rerr))
		}
		return runtime.Instance{}, err
	}
	return inst, nil
}

func (r *Runtime) startCreated(ctx context.Context, id string) (runtime.Instance, error) {
	if err := r.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return runtime.Instance{}, fmt.Errorf("start container: %w", err)
	}
	ins, err := r.cli.ContainerInspect(ctx, id)
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("inspect container: %w", err)
	}
	inst, ok := instanceOf(ins)
	if !ok {
		return runtime.Instance{}, errors.New("inspect container: no published port")
	}
	return inst, nil
}

// envList turns env into sorted KEY=VALUE pairs.
func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// portBusy reports whether the loopback port cannot be bound.
func portBusy(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return true
	}
	l.Close()
	return false
}

// webServerCaps are the capabilities a container keeps (of Docker's
// default set): enough to bind ports below 1024, own and chown its files,
// switch to an unprivileged user and signal its own processes.
var webServerCaps = []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID", "NET_BIND_SERVICE", "KILL"}

// pidsLimit bounds the processes (threads included) of one container.
var pidsLimit int64 = 1024
