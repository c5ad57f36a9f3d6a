package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nonstopdev/nonstop/internal/client"
	"github.com/nonstopdev/nonstop/internal/wire"
)

// rolloutCmd is a command on APP that may start a rollout, which it follows
// unless --detach.
func rolloutCmd(use, short string, nargs cobra.PositionalArgs, run func(cmd *cobra.Command, c *client.Client, args []string) (*wire.Rollout, string, error)) *cobra.Command {
	var detach bool
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  nargs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			ro, result, err := run(cmd, c, args)
			if err != nil {
				return err
			}
			if ro == nil {
				fmt.Fprintln(cmd.OutOrStdout(), result)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rollout #%d started (%s)\n", ro.ID, ro.Kind)
			if detach {
				return nil
			}
			return follow(cmd, c, args[0], ro.ID)
		},
	}
	cmd.Flags().BoolVar(&detach, "detach", false, "return once the rollout has started")
	return cmd
}

func newRollbackCmd() *cobra.Command {
	var to string
	cmd := rolloutCmd("rollback APP", "Return to the release live before the current one (or --to vN), health-gated", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client.Client, args []string) (*wire.Rollout, string, error) {
			ro, err := c.Rollback(cmd.Context(), args[0], to)
			return ro, "", err
		})
	cmd.Flags().StringVar(&to, "to", "", "release to return to, e.g. v3")
	return cmd
}

func newScaleCmd() *cobra.Command {
	return rolloutCmd("scale APP N", "Run N instances of the live release", cobra.ExactArgs(2),
		func(cmd *cobra.Command, c *client.Client, args []string) (*wire.Rollout, string, error) {
			n, err := strconv.Atoi(args[1])
			if err != nil {
				return nil, "", fmt.Errorf("N must be a number, got %q", args[1])
			}
			return c.Scale(cmd.Context(), args[0], n)
		})
}

func newStopCmd() *cobra.Command {
	return rolloutCmd("stop APP", "Drain and stop the app's instances; its maintenance page is served", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client.Client, args []string) (*wire.Rollout, string, error) {
			ro, err := c.Stop(cmd.Context(), args[0])
			return ro, "", err
		})
}

func newStartCmd() *cobra.Command {
	return rolloutCmd("start APP", "Start a stopped app's live release again", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client.Client, args []string) (*wire.Rollout, string, error) {
			ro, err := c.Start(cmd.Context(), args[0])
			return ro, "", err
		})
}

func newEnvCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "env", Short: "Set, unset and list an app's environment (a change rolls out a new release)"}
	set := rolloutCmd("set APP K=V...", "Set env vars and roll out a release with them", cobra.MinimumNArgs(2),
		func(cmd *cobra.Command, c *client.Client, args []string) (*wire.Rollout, string, error) {
			vars := map[string]string{}
			for _, kv := range args[1:] {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return nil, "", fmt.Errorf("%q: want KEY=VALUE", kv)
				}
				vars[k] = v
			}
			return c.SetEnv(cmd.Context(), args[0], vars, nil)
		})
	unset := rolloutCmd("unset APP K...", "Remove env vars and roll out a release without them", cobra.MinimumNArgs(2),
		func(cmd *cobra.Command, c *client.Client, args []string) (*wire.Rollout, string, error) {
			return c.SetEnv(cmd.Context(), args[0], nil, args[1:])
		})
	var reveal bool
	list := &cobra.Command{
		Use:   "list APP",
		Short: "List env vars (values hidden unless --reveal)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			vars, err := c.Env(cmd.Context(), args[0], reveal)
			if err != nil {
				return err
			}
			sort.Slice(vars, func(i, j int) bool { return vars[i].Name < vars[j].Name })
			for _, v := range vars {
				fmt.Fprintf(cmd.OutOrStdout(), "%s=%s\n", v.Name, v.Value)
			}
			return nil
		},
	}
	list.Flags().BoolVar(&reveal, "reveal", false, "show the values")
	cmd.AddCommand(set, unset, list)
	return cmd
}
