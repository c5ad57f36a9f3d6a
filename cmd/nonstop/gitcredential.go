package main

import (
	"bufio"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"
)

// newGitCredentialCmd is a git credential helper: for pushes to the
// server `nonstop login` saved, it answers the saved token, so that a
// stock `git push http://SERVER/git/APP.git` works with no token in the
// URL or in .git/config. `nonstop login` installs it for that server.
func newGitCredentialCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "git-credential get|store|erase",
		Short: "git's credential helper for the server nonstop login saved (installed by nonstop login)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "get" {
				io.Copy(io.Discard, cmd.InOrStdin()) // nothing to store or erase: the token is nonstop's
				return nil
			}
			ask := readCredentialRequest(cmd.InOrStdin())
			saved := loadCredentials()
			if saved.Token == "" || !sameServer(saved.Server, ask["protocol"], ask["host"]) {
				return nil // not ours: git asks its other helpers
			}
			fmt.Fprintf(cmd.OutOrStdout(), "username=nonstop\npassword=%s\n", saved.Token)
			return nil
		},
	}
}

// readCredentialRequest reads git's key=value lines up to a blank line.
func readCredentialRequest(r io.Reader) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out
}

// sameServer reports whether git asks for the server's scheme and host.
func sameServer(server, protocol, host string) bool {
	u, err := url.Parse(server)
	return err == nil && u.Scheme == protocol && strings.EqualFold(u.Host, host)
}

// installGitCredential makes git ask `nonstop git-credential` for the
// server's pushes (git config --global credential.SERVER.helper); it says
// why when it cannot.
func installGitCredential(server string) string {
	git, err := exec.LookPath("git")
	if err != nil {
		return "git is not installed: git push will ask for the token"
	}
	self, err := os.Executable()
	if err != nil {
		return "git push will ask for the token: " + err.Error()
	}
	key := "credential." + server + ".helper"
	out, err := exec.Command(git, "config", "--global", "--replace-all", key, "!"+shellQuoted(self)+" git-credential").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("git push will ask for the token: git config: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return "git push to " + server + "/git/APP.git now uses this token (" + key + " in your git config)"
}

func shellQuoted(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
