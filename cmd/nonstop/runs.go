package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/nonstopdev/nonstop/internal/client"
)

func newRunsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runs APP",
		Short: "List an app's pipeline runs (trigger, commit, stages with their durations)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			runs, err := c.Runs(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tSTATE\tTRIGGER\tCOMMIT\tBY\tSTARTED\tSTAGES")
			for _, r := range runs {
				var stages []string
				for _, s := range r.Stages {
					st := s.Name + " " + s.Status
					if s.Duration > 0 {
						st += " " + s.Duration.Round(time.Millisecond).String()
					}
					stages = append(stages, st)
				}
				fmt.Fprintf(tw, "#%d\t%s\t%s\t%.12s\t%s\t%s\t%s\n", r.Number, r.State, r.Trigger, r.Commit, r.StartedBy,
					r.CreatedAt.Local().Format(time.DateTime), strings.Join(stages, ", "))
			}
			return tw.Flush()
		},
	}
	logs := &cobra.Command{
		Use:   "logs APP N",
		Short: "Show a run's log: fetch, build, rollout",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, n, err := runArgs(cmd, args)
			if err != nil {
				return err
			}
			return c.RunLogs(cmd.Context(), args[0], n, os.Stdout)
		},
	}
	cancel := &cobra.Command{
		Use:   "cancel APP N",
		Short: "Cancel a queued run, or stop a running one (its rollout rolls back)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, n, err := runArgs(cmd, args)
			if err != nil {
				return err
			}
			run, err := c.CancelRun(cmd.Context(), args[0], n)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "run #%d: %s\n", run.Number, run.State)
			return nil
		},
	}
	cmd.AddCommand(logs, cancel)
	return cmd
}

func runArgs(cmd *cobra.Command, args []string) (*client.Client, int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(args[1], "#"))
	if err != nil {
		return nil, 0, fmt.Errorf("run number %q: want N", args[1])
	}
	c, err := apiClient(cmd)
	return c, n, err
}
