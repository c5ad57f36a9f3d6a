package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nonstopdev/nonstop/internal/wire"
)

func newAppsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "apps", Short: "Create, list and delete apps"}
	var domains []string
	var team string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an app (served at NAME.localhost and its domains)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			app, err := c.CreateAppIn(cmd.Context(), args[0], team, domains)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created app %s: %s\n", app.Name, strings.Join(app.URLs, " "))
			return nil
		},
	}
	create.Flags().StringArrayVar(&domains, "domain", nil, "a domain the app is also served at (repeatable)")
	create.Flags().StringVar(&team, "team", "", "the team that owns the app (default: your first team)")
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
	cmd.AddCommand(create, list, del, newAppsSetCmd(), newAppsWebhookCmd())
	return cmd
}

func newAppsSetCmd() *cobra.Command {
	var s wire.AppSettings
	var repo, branch, poll string
	var domains []string
	cmd := &cobra.Command{
		Use:   "set APP",
		Short: "Set where an app's code comes from (--repo, --branch, --poll) and its domains",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			if f.Changed("repo") {
				s.Repo = &repo
			}
			if f.Changed("branch") {
				s.Branch = &branch
			}
			if f.Changed("poll") {
				s.Poll = &poll
			}
			if f.Changed("domain") {
				s.Domains = &domains
			}
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			app, err := c.SetApp(cmd.Context(), args[0], s)
			if err != nil {
				return err
			}
			src := app.Source
			fmt.Fprintf(cmd.OutOrStdout(), "app %s: repo %q, branch %s, poll %s, urls %s\n", app.Name, src.Repo, src.Branch, src.Poll, strings.Join(app.URLs, " "))
			return nil
		},
	}
	cmd.Flags().StringVar(&repo, "repo", "", "the app's git repository (https://, ssh, or file:// for a local bare repository)")
	cmd.Flags().StringVar(&branch, "branch", "main", "the branch that deploys")
	cmd.Flags().StringVar(&poll, "poll", "", "watch the repository every DURATION (e.g. 30s) and deploy new commits; off to stop")
	cmd.Flags().StringArrayVar(&domains, "domain", nil, "the app's domains, replacing the current ones (repeatable)")
	return cmd
}

func newAppsWebhookCmd() *cobra.Command {
	var rotate bool
	cmd := &cobra.Command{
		Use:   "webhook APP",
		Short: "Print the app's webhook URL for each forge and its webhook secret",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			info, err := c.Webhook(cmd.Context(), args[0], rotate)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, f := range []string{"github", "gitlab", "gitea", "generic"} {
				fmt.Fprintf(out, "url: %s   (%s)\n", info.URLs[f], f)
			}
			fmt.Fprintf(out, "secret: %s\n", info.Secret)
			return nil
		},
	}
	cmd.Flags().BoolVar(&rotate, "rotate", false, "make a new secret (the old one stops working)")
	return cmd
}
