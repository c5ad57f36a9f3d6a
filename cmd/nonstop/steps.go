package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newStepCmd is promote, pause, resume or abort of the app's rollout.
func newStepCmd(name, short string) *cobra.Command {
	var full bool
	cmd := &cobra.Command{
		Use:   name + " APP",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			ro, err := c.Signal(cmd.Context(), args[0], name, full)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rollout #%d of %s: %s sent\n", ro.ID, args[0], name)
			return nil
		},
	}
	if name == "promote" {
		cmd.Flags().BoolVar(&full, "full", false, "skip the remaining steps: 100% now")
	}
	return cmd
}

func newPromoteCmd() *cobra.Command {
	return newStepCmd("promote", "End the canary's current step now (--full: all of them)")
}
func newPauseCmd() *cobra.Command {
	return newStepCmd("pause", "Hold the canary at its current step (the analysis goes on)")
}
func newResumeCmd() *cobra.Command { return newStepCmd("resume", "Let a paused canary go on") }
func newAbortCmd() *cobra.Command {
	return newStepCmd("abort", "Stop the app's rollout in progress: it rolls back")
}
