package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nonstopdev/nonstop/internal/client"
)

// newGitHookCmd is what the pre-receive hook of an app's repository runs
// (see internal/source/gitserver): it deploys the pushed deploy branch and
// accepts the push only once the new release is live. git shows its output
// to the pusher as `remote:` lines.
func newGitHookCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "git-hook pre-receive",
		Short:  "Run by git on the server: deploy a pushed branch",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "pre-receive" {
				return fmt.Errorf("git-hook %s: only pre-receive is handled", args[0])
			}
			return preReceive(cmd, os.Stdin)
		},
	}
}

// refUpdate is one line a pre-receive hook reads: old new ref.
type refUpdate struct{ old, new, ref string }

func readRefUpdates(r io.Reader) ([]refUpdate, error) {
	var out []refUpdate
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("read ref updates: malformed line %q", sc.Text())
		}
		out = append(out, refUpdate{f[0], f[1], f[2]})
	}
	return out, sc.Err()
}

// deleted reports whether the update deletes its ref (a zero id, of any
// hash length).
func (u refUpdate) deleted() bool { return strings.Trim(u.new, "0") == "" }

func preReceive(cmd *cobra.Command, stdin io.Reader) error {
	server, token := os.Getenv("NONSTOP_SERVER"), os.Getenv("NONSTOP_TOKEN")
	app, branch := os.Getenv("NONSTOP_APP"), os.Getenv("NONSTOP_BRANCH")
	if server == "" || token == "" || app == "" || branch == "" {
		return errors.New("git-hook: NONSTOP_SERVER, NONSTOP_TOKEN, NONSTOP_APP and NONSTOP_BRANCH must be set: git runs this hook on the nonstop server")
	}
	updates, err := readRefUpdates(stdin)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if n := os.Getenv("NONSTOP_NOTICE"); n != "" {
		fmt.Fprintf(out, "nonstop: %s\n", n)
	}
	deployRef := "refs/heads/" + branch
	var target *refUpdate
	for i, u := range updates {
		if u.ref != deployRef {
			fmt.Fprintf(out, "nonstop: %s does not deploy (the deploy branch of %s is %s)\n", u.ref, app, branch)
			continue
		}
		if u.deleted() {
			return &exitError{code: 1, msg: fmt.Sprintf("deleting %s, the deploy branch of %s, is refused", branch, app)}
		}
		target = &updates[i]
	}
	if target == nil {
		return nil
	}

	c := client.New(server, token)
	fmt.Fprintf(out, "nonstop: deploying %s %s to app %s\n", branch, short(target.new), app)
	archive, wait := gitArchive(target.new)
	ro, err := c.DeploySource(cmd.Context(), app, archive, "push", target.new)
	archive.Close()
	if archErr := wait(); err == nil && archErr != nil {
		err = archErr
	}
	if err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("deploy of %s %s refused: %v\n%s", branch, short(target.new), err, keptAt(branch, target.old))}
	}
	fmt.Fprintf(out, "deploy #%d started\n", ro.ID)
	if err := follow(cmd, c, app, ro.ID); err != nil {
		var exit *exitError
		if errors.As(err, &exit) {
			return &exitError{code: exit.code, msg: exit.msg + "\n" + keptAt(branch, target.old)}
		}
		return fmt.Errorf("%w\n%s", err, keptAt(branch, target.old))
	}
	return nil
}

// gitArchive streams `git archive` of a commit as a tar.gz; the objects of
// a push are readable in the hook although still quarantined. wait returns
// git's error once the stream is done.
func gitArchive(commit string) (io.ReadCloser, func() error) {
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	c := exec.Command("git", "archive", "--format=tar.gz", commit)
	c.Stdout, c.Stderr = pw, &stderr
	done := make(chan error, 1)
	go func() {
		err := c.Run()
		if err != nil {
			err = fmt.Errorf("git archive %s: %v: %s", short(commit), err, strings.TrimSpace(stderr.String()))
		}
		pw.CloseWithError(err)
		done <- err
	}()
	return pr, func() error { return <-done }
}

func keptAt(branch, old string) string {
	if strings.Trim(old, "0") == "" {
		return fmt.Sprintf("push rejected: %s was not created", branch)
	}
	return fmt.Sprintf("push rejected: %s stays at %s", branch, short(old))
}

func short(sha string) string { return sha[:min(len(sha), 12)] }
