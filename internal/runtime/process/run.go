package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

// Run runs spec.Command once, to its end, as an instance of spec runs:
// in its folder, as its account, with its environment and volumes, but
// with no port and no supervision (a release phase). Its output goes to
// out. When ctx ends, or when the command exits, whatever it started in
// its process group is killed. A non-zero exit is an error naming it.
func (r *Runtime) Run(ctx context.Context, spec runtime.InstanceSpec, out io.Writer) error {
	own, err := r.volumeEnv(spec)
	if err != nil {
		return err
	}
	base, sys := os.Environ(), &syscall.SysProcAttr{Setpgid: true}
	if u := spec.User; u != nil {
		sys.Credential, base = u.Credential(), u.Environ()
	}
	// The output through a pipe of our own: what the command leaves in
	// the background would keep exec's copy open after the command ends.
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	copied := make(chan struct{})
	go func() { defer close(copied); io.Copy(out, pr); pr.Close() }()
	cmd := exec.CommandContext(ctx, r.sh, "-c", spec.Command)
	cmd.Dir, cmd.Env, cmd.SysProcAttr = spec.Dir, instanceEnv(base, spec.Env, own), sys
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err = cmd.Run()
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // what it left in its group
	}
	pw.Close()
	select {
	case <-copied:
	case <-time.After(5 * time.Second): // a process that left the group still holds the pipe
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("%q stopped: %w", spec.Command, ctx.Err())
	case errors.As(err, &exit):
		return fmt.Errorf("%q failed with exit code %d", spec.Command, exit.ExitCode())
	default:
		return fmt.Errorf("run %q: %w", spec.Command, err)
	}
}
