package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// procs starts and owns every process of a run. Each one gets its own
// process group (so Ctrl-C on the terminal reaches only the harness, and
// a proxy's workers are stopped with their master) and dies with the
// harness if it is killed (Pdeathsig). stopAll ends whatever is left.
type procs struct {
	dir string // logs go to dir/NAME.log

	mu      sync.Mutex
	running map[*proc]bool
}

// proc is one started process.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
	err  error         // its exit status, once done
	log  *os.File
}

func newProcs(dir string) *procs {
	return &procs{dir: dir, running: map[*proc]bool{}}
}

// start runs argv in the background with env added to the harness's
// environment; stdout, if not nil, gets its standard output, and both
// streams also go to dir/NAME.log.
func (ps *procs) start(name string, env []string, stdout io.Writer, argv ...string) (*proc, error) {
	logf, err := os.OpenFile(filepath.Join(ps.dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = logf
	cmd.Stdout = logf
	if stdout != nil {
		cmd.Stdout = io.MultiWriter(stdout, logf)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), log: logf}
	ps.mu.Lock()
	ps.running[p] = true
	ps.mu.Unlock()
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		ps.mu.Lock()
		delete(ps.running, p)
		ps.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// run runs argv to its end (or until ctx ends, when it is stopped) and
// returns its standard output.
func (ps *procs) run(ctx context.Context, name string, argv ...string) (string, error) {
	var out bytes.Buffer
	p, err := ps.start(name, nil, &out, argv...)
	if err != nil {
		return "", err
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		p.stop(time.Second)
		return "", ctx.Err()
	}
	if p.err != nil {
		return out.String(), fmt.Errorf("%s: %w (see %s)", name, p.err, p.logPath())
	}
	return out.String(), nil
}

func (p *proc) logPath() string { return p.log.Name() }

// signal sends sig to the process itself (not its group).
func (p *proc) signal(sig syscall.Signal) error {
	return p.cmd.Process.Signal(sig)
}

// stop sends SIGTERM and, if the process is still there after grace,
// SIGKILL; then it kills what is left of its process group.
func (p *proc) stop(grace time.Duration) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) // workers of a master
}

// kill stops the process at once with SIGKILL.
func (p *proc) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// stopAll stops every process still running, in parallel.
func (ps *procs) stopAll() {
	ps.mu.Lock()
	var all []*proc
	for p := range ps.running {
		all = append(all, p)
	}
	ps.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range all {
		wg.Go(func() { p.stop(3 * time.Second) })
	}
	wg.Wait()
}

// errExited is returned when a process ended while it was awaited.
var errExited = errors.New("process exited")
