package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func newHoldCmd() *cobra.Command {
	var maxWait time.Duration
	var maxQueue int
	cmd := &cobra.Command{
		Use:   "hold APP",
		Short: "Hold the app's incoming requests (e.g. during a migration) until `nonstop unhold`",
		Long: "Hold the app's incoming requests until `nonstop unhold APP`, which lets them through in the order they came.\n" +
			"A request waits at most --max-wait, and at most --max-queue wait at once; past either it gets 503 with Retry-After.\n" +
			"Deploys during a hold keep holding.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			res, err := c.Hold(cmd.Context(), args[0], maxWait, maxQueue)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), res.Result)
			return nil
		},
	}
	cmd.Flags().DurationVar(&maxWait, "max-wait", 30*time.Second, "longest a request waits (at most 10m)")
	cmd.Flags().IntVar(&maxQueue, "max-queue", 0, "most requests waiting at once (default 10000)")
	return cmd
}

func newUnholdCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "unhold APP",
		Short: "Let the app's held requests through, in the order they came",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			res, err := c.Unhold(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), res.Result)
			return nil
		},
	}
}
