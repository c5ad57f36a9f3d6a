package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/nonstopdev/nonstop/internal/client"
)

func newLoginCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "login [SERVER]",
		Short: "Check and store a server URL and token for the other commands",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			srv := defaultServer
			if len(args) == 1 {
				srv = strings.TrimRight(args[0], "/")
			}
			tok, _ := cmd.Flags().GetString("token")
			if tok == "" {
				tok = os.Getenv("NONSTOP_TOKEN")
			}
			if tok == "" {
				var err error
				if tok, err = readToken(cmd); err != nil {
					return err
				}
			}
			who, err := client.New(srv, tok).Whoami(cmd.Context())
			if err != nil {
				return fmt.Errorf("log in to %s: %w", srv, err)
			}
			data, _ := json.MarshalIndent(credentials{Server: srv, Token: tok}, "", "  ")
			path := credentialsPath()
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return err
			}
			if err := os.WriteFile(path, data, 0o600); err != nil {
				return fmt.Errorf("save credentials: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "logged in to %s as %s (%s); saved in %s\n", srv, who.Name, who.Role, path)
			fmt.Fprintln(cmd.OutOrStdout(), installGitCredential(srv))
			return nil
		},
	}
}

func readToken(cmd *cobra.Command) (string, error) { return readSecret(cmd, "token") }

// readSecret reads a secret from the terminal without echo, or the first
// line of standard input when it is not a terminal.
func readSecret(cmd *cobra.Command, what string) (string, error) {
	if term.IsTerminal(int(os.Stdin.Fd())) {
		fmt.Fprint(cmd.ErrOrStderr(), what+": ")
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		return strings.TrimSpace(string(b)), err
	}
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read %s: %w", what, err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
