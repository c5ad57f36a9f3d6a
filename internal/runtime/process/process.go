// Package process runs instances as supervised local processes: the embedded
// default runtime, which needs nothing installed.
//
// Each instance is `sh -c COMMAND` in its own session and process group, with
// $PORT set to a loopback port, its stdout and stderr appended to
// DIR/ID/output.log, and its spec, PID and process start time recorded in
// DIR/ID/state.json. The process does not depend on the control plane: its
// output goes to a file it holds itself, it gets no signal when the control
// plane dies, and a later run of the control plane adopts it from state.json.
//
// A Runtime supervises the instances it started or adopted: when one exits
// without being stopped, it is started again, on the same port, after an
// exponential backoff. Several Runtime values (a server and `nonstop
// shutdown`, or two runs of the control plane) may share one Dir: writes to
// an instance's state.json are serialised by a lock file, and a stop recorded
// there by one is honoured by the others.
//
// Volumes (runtime.Volume) are folders DIR/volumes/APP/NAME, created 0700
// when missing and shared by every instance of APP that names them, across
// releases and restarts: Stop and Remove never touch them. A process cannot
// be mounted at the volume's path, so the instance finds its folder's
// absolute path in $NONSTOP_VOLUME_<NAME> (runtime.VolumeEnv) instead.
package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nonstopdev/nonstop/internal/cgroup"
	"github.com/nonstopdev/nonstop/internal/keylock"
	"github.com/nonstopdev/nonstop/internal/runtime"
)

var _ runtime.Runtime = (*Runtime)(nil)

// ErrClosed is returned by Start and Adopt after Close.
var ErrClosed = errors.New("process runtime closed")

// ErrRunning is returned by Start for an instance that is already running
// and by Remove for one that is not stopped.
var ErrRunning = errors.New("instance is running")

// Options configure a Runtime.
type Options struct {
	// Dir is the root folder for instance state, e.g. DATA/instances. It is
	// created (0700) when missing. It also holds the apps' volumes, in
	// DIR/volumes/APP/NAME: an instance gets its volume's folder in
	// $NONSTOP_VOLUME_<NAME> (the name upper-cased, '-' as '_'), not at the
	// volume's path, and the folder outlives instances and releases.
	Dir    string
	Logger *slog.Logger // nil: discard
	// BackoffMin and BackoffMax bound the delay before a crashed instance
	// is started again; the delay doubles from BackoffMin up to BackoffMax
	// and starts over once an instance has run for 10s.
	BackoffMin time.Duration // default 500ms
	BackoffMax time.Duration // default 30s
	// OnEvent, when set, is called when a supervised instance exits or is
	// restarted, from the supervising goroutine: it must not block for long.
	OnEvent func(Event)
	// MaxLogBytes bounds an instance's output.log; past it the log moves to
	// output.log.1 (default 16 MiB).
	MaxLogBytes int64
}

// EventKind names what happened to an instance.
type EventKind string

const (
	EventExited        EventKind = "exited"         // exited unasked; a restart follows
	EventRestarted     EventKind = "restarted"      // started again after an exit
	EventRestartFailed EventKind = "restart_failed" // starting again failed; retried after a backoff
)

// Event reports an exit or a restart of a supervised instance.
type Event struct {
	ID       string
	App      string
	Release  int
	Kind     EventKind
	Message  string
	ExitCode int // EventExited: exit status, 128+N for signal N, -1 when unknown
	PID      int // EventExited: the process that exited; EventRestarted: the new one
	Restarts int
	Time     time.Time
}

const (
	stableAfter  = 10 * time.Second       // running this long resets the backoff
	pollInterval = 100 * time.Millisecond // liveness polling of a supervised process
	stopPoll     = 20 * time.Millisecond  // polling while stopping
	killWait     = 2 * time.Second        // bound on waiting for SIGKILLed processes
	followPoll   = 200 * time.Millisecond // Logs(follow) polling for new output
	defaultMin   = 500 * time.Millisecond // BackoffMin default
	defaultMax   = 30 * time.Second       // BackoffMax default
)

// Runtime runs instances as local processes. It implements runtime.Runtime.
type Runtime struct {
	dir    string
	log    *slog.Logger
	opts   Options
	sh     string // path of sh
	bootID string // the kernel's boot id: a PID from another boot is never ours
	keys   keylock.Map

	cgroupsOnce sync.Once       // detects, at the first instance with limits,
	cgroups     *cgroup.Manager // how this machine caps processes,
	cgroupsErr  error           // or why it cannot

	mu        sync.Mutex
	closed    bool
	instances map[string]*instance  // supervised by this Runtime
	readings  map[string]cpuReading // by instance: the last Usage's CPU time

	stopRotate chan struct{} // closed by Close: ends rotateLoop
	rotateDone chan struct{}
}

// instance is one instance this Runtime supervises.
type instance struct {
	id     string
	cancel context.CancelFunc // stops the supervisor
	done   chan struct{}      // closed when the supervisor has returned

	mu       sync.Mutex
	rec      record // as last persisted
	state    runtime.State
	stopping bool
	exitCode int
	lastExit time.Time
}

// New returns a process runtime keeping its state under opts.Dir.
func New(opts Options) (*Runtime, error) {
	if opts.Dir == "" {
		return nil, errors.New("process runtime: no state folder")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("process runtime: %w", err)
	}
	// Apps' accounts pass through (to their volumes), but list nothing:
	// each instance's folder is 0700.
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, fmt.Errorf("process runtime: create state folder: %w", err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		return nil, fmt.Errorf("process runtime: state folder: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.BackoffMin <= 0 {
		opts.BackoffMin = defaultMin
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = defaultMax
	}
	if opts.BackoffMax < opts.BackoffMin {
		opts.BackoffMax = opts.BackoffMin
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		sh = "/bin/sh"
	}
	if opts.MaxLogBytes <= 0 {
		opts.MaxLogBytes = 16 << 20
	}
	r := &Runtime{
		dir:        dir,
		log:        opts.Logger.With("runtime", "process"),
		opts:       opts,
		sh:         sh,
		bootID:     readBootID(),
		instances:  make(map[string]*instance),
		readings:   make(map[string]cpuReading),
		stopRotate: make(chan struct{}),
		rotateDone: make(chan struct{}),
	}
	go func() {
		defer close(r.rotateDone)
		r.rotateLoop(r.stopRotate)
	}()
	return r, nil
}

// Name returns "process".
func (r *Runtime) Name() string { return "process" }

// Start starts spec.Command with `sh -c` in spec.Dir and returns once the
// process exists. The instance listens on spec.Port, or on a free loopback
// port when it is 0, given to it as $PORT.
func (r *Runtime) Start(ctx context.Context, spec runtime.InstanceSpec) (runtime.Instance, error) {
	if !validID(spec.ID) {
		return runtime.Instance{}, fmt.Errorf("start instance: invalid id %q", spec.ID)
	}
	if strings.TrimSpace(spec.Command) == "" {
		return runtime.Instance{}, fmt.Errorf("start %s: no command", spec.ID)
	}
	unlock, err := r.keys.Lock(ctx, spec.ID)
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	defer unlock()

	r.mu.Lock()
	closed, old := r.closed, r.instances[spec.ID]
	r.mu.Unlock()
	if closed {
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, ErrClosed)
	}
	if old != nil && !old.isStopped() {
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, ErrRunning)
	}
	dir := r.instDir(spec.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	unlockFile, err := r.lockState(spec.ID)
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	defer unlockFile()
	if prev, err := r.loadRecord(spec.ID); err == nil && !prev.Stopped && r.alive(prev) {
		return runtime.Instance{}, fmt.Errorf("start %s: %w (pid %d): adopt it", spec.ID, ErrRunning, prev.PID)
	}
	if err := ctx.Err(); err != nil {
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}

	port := spec.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
		}
	}
	pid, ticks, group, err := r.spawn(spec, port)
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	rec := record{
		Spec:       spec,
		Port:       port,
		Addr:       net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		PID:        pid,
		StartTicks: ticks,
		BootID:     r.bootID,
		StartedAt:  time.Now(),
		Cgroup:     group,
	}
	if err := r.saveRecord(rec); err != nil {
		killNow(pid, ticks)
		return runtime.Instance{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	r.supervise(rec)
	r.log.Info("instance started", "id", spec.ID, "pid", pid, "addr", rec.Addr)
	return rec.instance(), nil
}

// Adopt resumes supervising an instance started by an earlier run of the
// control plane. It returns runtime.ErrNotFound when the instance was
// stopped, is unknown, or its process is gone.
func (r *Runtime) Adopt(ctx context.Context, id string) (runtime.Instance, error) {
	if !validID(id) {
		return runtime.Instance{}, fmt.Errorf("adopt %q: %w", id, runtime.ErrNotFound)
	}
	unlock, err := r.keys.Lock(ctx, id)
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("adopt %s: %w", id, err)
	}
	defer unlock()

	r.mu.Lock()
	closed, inst := r.closed, r.instances[id]
	r.mu.Unlock()
	if closed {
		return runtime.Instance{}, fmt.Errorf("adopt %s: %w", id, ErrClosed)
	}
	if inst != nil && !inst.isStopped() {
		inst.mu.Lock()
		defer inst.mu.Unlock()
		return inst.rec.instance(), nil
	}
	rec, err := r.loadRecord(id)
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("adopt %s: %w", id, err)
	}
	if rec.Stopped || !r.alive(rec) {
		return runtime.Instance{}, fmt.Errorf("adopt %s: %w", id, runtime.ErrNotFound)
	}
	r.supervise(rec)
	r.log.Info("instance adopted", "id", id, "pid", rec.PID, "addr", rec.Addr)
	return rec.instance(), nil
}

// Status reports on an instance this Runtime supervises, or on one found in
// Dir that it does not.
func (r *Runtime) Status(ctx context.Context, id string) (runtime.Status, error) {
	if inst := r.instance(id); inst != nil {
		return inst.status(), nil
	}
	if !validID(id) {
		return runtime.Status{}, fmt.Errorf("status %q: %w", id, runtime.ErrNotFound)
	}
	rec, err := r.loadRecord(id)
	if err != nil {
		return runtime.Status{}, fmt.Errorf("status %s: %w", id, err)
	}
	st := runtime.Status{State: runtime.StateExited, Restarts: rec.Restarts}
	if !rec.Stopped && r.alive(rec) {
		st.State, st.PID = runtime.StateRunning, rec.PID
	}
	return st, nil
}

// List returns every instance found in Dir, running or not yet removed.
func (r *Runtime) List(ctx context.Context) ([]runtime.Instance, error) {
	ids, err := r.ids()
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	var out []runtime.Instance
	for _, id := range ids {
		if inst := r.instance(id); inst != nil {
			inst.mu.Lock()
			out = append(out, inst.rec.instance())
			inst.mu.Unlock()
			continue
		}
		rec, err := r.loadRecord(id)
		if err != nil {
			continue // being started, or removed meanwhile
		}
		out = append(out, rec.instance())
	}
	return out, nil
}

// Remove deletes the state and logs of a stopped instance. It returns
// ErrRunning for an instance that is not stopped, and nil for an unknown one.
func (r *Runtime) Remove(ctx context.Context, id string) error {
	if !validID(id) {
		return nil
	}
	unlock, err := r.keys.Lock(ctx, id)
	if err != nil {
		return fmt.Errorf("remove %s: %w", id, err)
	}
	defer unlock()
	if inst := r.instance(id); inst != nil && !inst.isStopped() {
		return fmt.Errorf("remove %s: %w: stop it first", id, ErrRunning)
	}
	rec, err := r.loadRecord(id)
	if err == nil && !rec.Stopped && r.alive(rec) {
		return fmt.Errorf("remove %s: %w (pid %d): stop it first", id, ErrRunning, rec.PID)
	}
	if err == nil && rec.Cgroup != nil {
		if err := rec.Cgroup.Remove(); err != nil {
			return fmt.Errorf("remove %s: %w", id, err)
		}
	}
	if err := os.RemoveAll(r.instDir(id)); err != nil {
		return fmt.Errorf("remove %s: %w", id, err)
	}
	r.mu.Lock()
	delete(r.instances, id)
	r.mu.Unlock()
	return nil
}

// Close stops supervision and leaves every instance running, to be adopted
// by the next run. After Close, Start and Adopt fail; Stop, StopAll, Status,
// List, Logs and Remove work from Dir.
func (r *Runtime) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	insts := r.instances
	r.instances = make(map[string]*instance)
	r.mu.Unlock()
	close(r.stopRotate)
	<-r.rotateDone
	for _, inst := range insts {
		inst.cancel()
	}
	for _, inst := range insts {
		<-inst.done
	}
	return nil
}

// supervise registers rec's instance and starts its supervisor, unless the
// Runtime is closed: then the instance is left running, unsupervised.
func (r *Runtime) supervise(rec record) {
	ctx, cancel := context.WithCancel(context.Background())
	inst := &instance{
		id:     rec.Spec.ID,
		cancel: cancel,
		done:   make(chan struct{}),
		rec:    rec,
		state:  runtime.StateRunning,
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		cancel()
		close(inst.done)
		return
	}
	r.instances[inst.id] = inst
	go r.superviseLoop(ctx, inst)
}

func (r *Runtime) instance(id string) *instance {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.instances[id]
}

// ids returns the IDs of the instances in Dir and in memory, sorted.
func (r *Runtime) ids() ([]string, error) {
	ents, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() && validID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	r.mu.Lock()
	for id := range r.instances {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	r.mu.Unlock()
	slices.Sort(ids)
	return ids, nil
}

func (inst *instance) isStopped() bool {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	return inst.stopping || inst.state == runtime.StateExited
}

func (inst *instance) status() runtime.Status {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	st := runtime.Status{
		State:    inst.state,
		Restarts: inst.rec.Restarts,
		ExitCode: inst.exitCode,
		LastExit: inst.lastExit,
	}
	if inst.state == runtime.StateRunning {
		st.PID = inst.rec.PID
	}
	return st
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
