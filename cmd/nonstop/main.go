// Command nonstop deploys apps with zero downtime: it builds them, runs them
// behind its own proxy, and rolls new releases out health-gated, rolling
// back by itself when a release misbehaves.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/nonstopdev/nonstop/internal/client"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return
	}
	var exit *exitError
	if errors.As(err, &exit) {
		if exit.msg != "" {
			fmt.Fprintln(os.Stderr, "nonstop:", exit.msg)
		}
		os.Exit(exit.code)
	}
	fmt.Fprintln(os.Stderr, "nonstop:", err)
	if client.StatusOf(err) == 401 {
		fmt.Fprintln(os.Stderr, "hint: run `nonstop login` or set NONSTOP_TOKEN")
	}
	os.Exit(1)
}

// exitError ends the program with a code, after the command printed its own output.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "nonstop",
		Short:         "Zero-downtime deploys: build, run behind a proxy, roll out health-gated, roll back by itself",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.PersistentFlags().String("server", "", "nonstop server URL (default: $NONSTOP_SERVER, the login file, or http://127.0.0.1:7070)")
	root.PersistentFlags().String("token", "", "API token (default: $NONSTOP_TOKEN, the login file, or DATA/admin.token)")
	root.AddCommand(
		newServerCmd(), newProxyCmd(), newShutdownCmd(), newDemoCmd(),
		newAppsCmd(), newDeployCmd(), newStatusCmd(), newReleasesCmd(), newLogsCmd(),
		newRollbackCmd(), newScaleCmd(), newStopCmd(), newStartCmd(), newHoldCmd(), newUnholdCmd(), newEnvCmd(), newLoginCmd(), newRunsCmd(), newPromoteCmd(), newPauseCmd(), newResumeCmd(), newAbortCmd(),
		newUsersCmd(), newTeamsCmd(), newTokensCmd(), newAuditCmd(),
		newStaticCmd(), newGitCredentialCmd(),
		newGitHookCmd(), // hidden: run by the pre-receive hook of an app's repository
	)
	return root
}
