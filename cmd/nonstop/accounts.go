package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/nonstopdev/nonstop/internal/wire"
)

// People, teams and tokens (DESIGN.md: nonstop users|teams|tokens).

func newUsersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "Add, list and remove people (admins)"}
	var role string
	var teams []string
	var passwordStdin bool
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Add a user; prints its first API token, once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			req := wire.CreateUserRequest{Name: args[0], Role: role, Teams: teams}
			if passwordStdin {
				if req.Password, err = readSecret(cmd, "password"); err != nil {
					return err
				}
			}
			u, err := c.CreateUser(cmd.Context(), req)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created %s %s in %s\ntoken (shown once): %s\n", u.Role, u.Name, teamList(u.Teams), u.Token)
			return nil
		},
	}
	create.Flags().StringVar(&role, "role", "member", "admin, member (acts on their teams' apps) or viewer (only sees them)")
	create.Flags().StringArrayVar(&teams, "team", nil, "a team the user is in (repeatable)")
	create.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read a dashboard password from standard input")
	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			users, err := c.Users(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLE\tTEAMS\tPASSWORD\tCREATED")
			for _, u := range users {
				pw := "no"
				if u.HasPassword {
					pw = "yes"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, teamList(u.Teams), pw, u.CreatedAt.Local().Format(time.DateTime))
			}
			return tw.Flush()
		},
	}
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Remove a user and its tokens",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			if err := c.DeleteUser(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted user %s\n", args[0])
			return nil
		},
	}
	passwd := &cobra.Command{
		Use:   "passwd NAME",
		Short: "Set a user's dashboard password (yours, or anyone's as an admin), read from the terminal or standard input",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			pw, err := readSecret(cmd, "new password")
			if err != nil {
				return err
			}
			if err := c.SetPassword(cmd.Context(), args[0], pw); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "password of %s set\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, del, passwd)
	return cmd
}

func teamList(teams []string) string {
	if len(teams) == 0 {
		return "no team"
	}
	return strings.Join(teams, ",")
}

func newTeamsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "teams", Short: "Create teams and choose who is in them (admins); list yours"}
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a team",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			if _, err := c.CreateTeam(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created team %s\n", args[0])
			return nil
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List teams and their members",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			teams, err := c.Teams(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TEAM\tMEMBERS")
			for _, t := range teams {
				fmt.Fprintf(tw, "%s\t%s\n", t.Name, strings.Join(t.Members, ","))
			}
			return tw.Flush()
		},
	}
	add := &cobra.Command{
		Use:   "add TEAM USER",
		Short: "Put a user in a team",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			if err := c.AddTeamMember(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is in team %s\n", args[1], args[0])
			return nil
		},
	}
	remove := &cobra.Command{
		Use:   "remove TEAM USER",
		Short: "Take a user out of a team",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			if err := c.RemoveTeamMember(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is no longer in team %s\n", args[1], args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, add, remove)
	return cmd
}

func newTokensCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tokens", Short: "Make, list and revoke your API tokens"}
	var name, expires string
	create := &cobra.Command{
		Use:   "create",
		Short: "Make a token for yourself; prints it, once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			t, err := c.CreateToken(cmd.Context(), name, expires)
			if err != nil {
				return err
			}
			until := "does not expire"
			if t.ExpiresAt != nil {
				until = "expires " + t.ExpiresAt.Local().Format(time.DateTime)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "token %d %q (%s), shown once:\n%s\n", t.ID, t.Name, until, t.Secret)
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "token", "what the token is for")
	create.Flags().StringVar(&expires, "expires", "", "how long it lasts, e.g. 720h (default: until revoked)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List your tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			tokens, err := c.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			when := func(t *time.Time, none string) string {
				if t == nil {
					return none
				}
				return t.Local().Format(time.DateTime)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tCREATED\tLAST USED\tEXPIRES")
			for _, t := range tokens {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.Local().Format(time.DateTime), when(t.LastUsedAt, "never"), when(t.ExpiresAt, "never"))
			}
			return tw.Flush()
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke one of your tokens: it opens nothing from now on",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("token id %q is not a number (see nonstop tokens list)", args[0])
			}
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			if err := c.RevokeToken(cmd.Context(), id); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "token %d revoked\n", id)
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func newAuditCmd() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "audit [APP]",
		Short: "Who did what, newest first (admins: everything; others: their apps' and their own)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			app := ""
			if len(args) == 1 {
				app = args[0]
			}
			entries, err := c.Audit(cmd.Context(), app, limit)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tUSER\tACTION\tAPP\tTARGET\tSTATUS\tFROM")
			for _, e := range entries {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", e.Time.Local().Format(time.DateTime), e.User, e.Action,
					orDash(e.App), orDash(e.Target), e.Status, orDash(e.Addr))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many entries")
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
