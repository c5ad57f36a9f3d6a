package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Multi is one Runtime over several: instances with an image go to the
// container runtime, the others to the process runtime, and every other
// call goes to the runtime that holds the instance. The rollout engine
// drives it like any runtime.
type Multi struct {
	process   Runtime
	container Runtime // nil: none configured

	mu    sync.Mutex
	owner map[string]Runtime // instance ID → the runtime that holds it
}

var _ Runtime = (*Multi)(nil)

// NewMulti returns a Runtime over process and, when not nil, container.
func NewMulti(process, container Runtime) *Multi {
	return &Multi{process: process, container: container, owner: map[string]Runtime{}}
}

// ErrNoContainerRuntime is returned for an instance with an image when no
// container runtime is configured.
var ErrNoContainerRuntime = errors.New("no container runtime: start nonstop with Docker Engine reachable (--docker-host)")

func (m *Multi) Name() string { return "multi" }

// HasContainers reports whether a container runtime is configured.
func (m *Multi) HasContainers() bool { return m.container != nil }

func (m *Multi) all() []Runtime {
	if m.container == nil {
		return []Runtime{m.process}
	}
	return []Runtime{m.process, m.container}
}

func (m *Multi) remember(id string, r Runtime) {
	m.mu.Lock()
	m.owner[id] = r
	m.mu.Unlock()
}

// of finds the runtime that holds id: the one that started or adopted it,
// else the first that reports a status for it.
func (m *Multi) of(ctx context.Context, id string) (Runtime, error) {
	m.mu.Lock()
	r, ok := m.owner[id]
	m.mu.Unlock()
	if ok {
		return r, nil
	}
	for _, r := range m.all() {
		if _, err := r.Status(ctx, id); err == nil {
			m.remember(id, r)
			return r, nil
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("instance %s: %w", id, ErrNotFound)
}

func (m *Multi) Start(ctx context.Context, spec InstanceSpec) (Instance, error) {
	r := m.process
	if spec.Image != "" {
		if m.container == nil {
			return Instance{}, ErrNoContainerRuntime
		}
		r = m.container
	}
	in, err := r.Start(ctx, spec)
	if err == nil {
		m.remember(spec.ID, r)
	}
	return in, err
}

func (m *Multi) Stop(ctx context.Context, id string, grace time.Duration) error {
	r, err := m.of(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil // stopping an unknown instance is a no-op
	}
	if err != nil {
		return err
	}
	return r.Stop(ctx, id, grace)
}

func (m *Multi) Adopt(ctx context.Context, id string) (Instance, error) {
	for _, r := range m.all() {
		in, err := r.Adopt(ctx, id)
		if err == nil {
			m.remember(id, r)
			return in, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return Instance{}, err
		}
	}
	return Instance{}, fmt.Errorf("adopt %s: %w", id, ErrNotFound)
}

func (m *Multi) Status(ctx context.Context, id string) (Status, error) {
	r, err := m.of(ctx, id)
	if err != nil {
		return Status{}, err
	}
	return r.Status(ctx, id)
}

func (m *Multi) List(ctx context.Context) ([]Instance, error) {
	var out []Instance
	for _, r := range m.all() {
		list, err := r.List(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s runtime: %w", r.Name(), err)
		}
		for _, in := range list {
			m.remember(in.ID, r)
		}
		out = append(out, list...)
	}
	return out, nil
}

func (m *Multi) Logs(ctx context.Context, id string, tail int, follow bool) (io.ReadCloser, error) {
	r, err := m.of(ctx, id)
	if err != nil {
		return nil, err
	}
	return r.Logs(ctx, id, tail, follow)
}

func (m *Multi) Remove(ctx context.Context, id string) error {
	r, err := m.of(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	err = r.Remove(ctx, id)
	m.mu.Lock()
	delete(m.owner, id)
	m.mu.Unlock()
	return err
}

func (m *Multi) Close() error {
	var errs []error
	for _, r := range m.all() {
		errs = append(errs, r.Close())
	}
	return errors.Join(errs...)
}

// Usage reads the resource use of an instance whose runtime measures it
// (zeros for one that does not).
func (m *Multi) Usage(ctx context.Context, id string) (Usage, error) {
	r, err := m.of(ctx, id)
	if err != nil {
		return Usage{}, err
	}
	if u, ok := r.(UsageReader); ok {
		return u.Usage(ctx, id)
	}
	return Usage{}, nil
}

// RemoveApp removes what each runtime keeps for app beyond its instances.
func (m *Multi) RemoveApp(ctx context.Context, app string) error {
	var errs []error
	for _, r := range m.all() {
		if ar, ok := r.(AppRemover); ok {
			errs = append(errs, ar.RemoveApp(ctx, app))
		}
	}
	return errors.Join(errs...)
}

// Run runs spec once on the runtime that would run its instances.
func (m *Multi) Run(ctx context.Context, spec InstanceSpec, out io.Writer) error {
	r := m.process
	if spec.Image != "" {
		if m.container == nil {
			return ErrNoContainerRuntime
		}
		r = m.container
	}
	run, ok := r.(Runner)
	if !ok {
		return fmt.Errorf("the %s runtime cannot run a release phase", r.Name())
	}
	return run.Run(ctx, spec, out)
}
