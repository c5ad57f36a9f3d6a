// Package build turns an app's source into something a runtime can start.
// For the process runtime that is the source folder itself, after the app
// spec's `build` command has run in it.
package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

// Command runs a shell build command in dir with env (added to nonstop's own
// environment, less its NONSTOP_ variables), writing its combined output to
// log. Canceling ctx kills the command's whole process group.
func Command(ctx context.Context, dir, command string, env map[string]string, log io.Writer) error {
	return CommandAs(ctx, nil, dir, command, env, log)
}

// CommandAs is Command run as account acct (nil: nonstop's own user): its
// uid and gid, and an environment of its own plus env, nothing of the
// server's.
func CommandAs(ctx context.Context, acct *runtime.Account, dir, command string, env map[string]string, log io.Writer) error {
	if strings.TrimSpace(command) == "" {
		return nil
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Dir = dir
	cmd.Env = Environ(env)
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if acct != nil {
		cmd.SysProcAttr.Credential = acct.Credential()
		cmd.Env = acct.Environ()
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	// What the command left running in its process group (a server it
	// started in the background) ends with it.
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("build command %q stopped: %w", command, ctx.Err())
	case errors.As(err, &exit):
		return fmt.Errorf("build command %q failed with exit code %d", command, exit.ExitCode())
	default:
		return fmt.Errorf("run build command %q: %w", command, err)
	}
}

// Environ is nonstop's environment without its own NONSTOP_ variables (they
// may hold a token), plus env.
func Environ(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NONSTOP_") {
			out = append(out, kv)
		}
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}
