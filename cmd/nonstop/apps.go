package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newAppsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "apps", Short: "Create, list and delete apps"}
	var domains []string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an app (served at NAME.localhost and its domains)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			app, err := c.CreateApp(cmd.Context(), args[0], domains)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created app %s: %s\n", app.Name, strings.Join(app.URLs, " "))
			return nil
		},
	}
	create.Flags().StringArrayVar(&domains, "domain", nil, "a domain the app is also served at (repeatable)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List apps",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			apps, err := c.Apps(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSTATE\tRELEASE\tURL")
			for _, a := range apps {
				rel := "-"
				if a.LiveRelease > 0 {
					rel = fmt.Sprintf("v%d", a.LiveRelease)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Name, a.State, rel, strings.Join(a.URLs, " "))
			}
			return tw.Flush()
		},
	}
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an app: drain and stop its instances, forget its releases",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			if err := c.DeleteApp(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted app %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, del)
	return cmd
}
