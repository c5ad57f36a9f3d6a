package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/nonstopdev/nonstop/internal/archive"
	"github.com/nonstopdev/nonstop/internal/store"
)

// fetchTimeout bounds one fetch of a repository.
const fetchTimeout = 5 * time.Minute

// fetch gets the run's commit (or the head of its ref) from its repository
// into a scratch folder of its own, as the plain files of that commit (no
// .git), and returns the folder, the commit and git's output. A webhook's
// commit that is the live one or an ancestor of it is an errNotNewer.
func (p *Pipeline) fetch(ctx context.Context, run *store.Run) (dir, commit, log string, err error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	if dir, err = p.scratch(run); err != nil {
		return "", "", "", err
	}
	repoDir := dir + ".git"
	defer os.RemoveAll(repoDir)
	var out bytes.Buffer
	git := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.Env = gitEnv()
		fmt.Fprintf(&out, "$ git %s\n", strings.Join(redact(args), " "))
		return cmd.Run()
	}
	want := run.Commit
	if want == "" {
		want = run.Ref
	}
	if want == "" {
		return dir, "", out.String(), fmt.Errorf("run #%d names no commit or ref", run.Number)
	}
	if err := git("init", "-q", "--bare", repoDir); err != nil {
		return dir, "", out.String(), fmt.Errorf("git init: %w", err)
	}
	if strings.HasPrefix(run.Repo, "-") || strings.HasPrefix(want, "-") {
		return dir, "", out.String(), fmt.Errorf("refusing repository %q or ref %q that looks like an option", RedactURL(run.Repo), want)
	}
	if err := git("-C", repoDir, "fetch", "-q", "--depth=1", "--no-tags", run.Repo, want); err != nil {
		return dir, "", out.String(), fmt.Errorf("git fetch %s from %s failed: %s", want, RedactURL(run.Repo), lastLine(out.String()))
	}
	sha, err := exec.CommandContext(ctx, "git", "-C", repoDir, "rev-parse", "FETCH_HEAD").Output()
	if err != nil {
		return dir, "", out.String(), fmt.Errorf("git rev-parse: %w", err)
	}
	commit = strings.TrimSpace(string(sha))
	if run.Trigger == "webhook" {
		live, err := p.Store.LiveCommit(ctx, run.AppID)
		if err != nil {
			return dir, commit, out.String(), err
		}
		why, older, err := notNewer(ctx, git, repoDir, run.Repo, run.Ref, commit, live)
		if err != nil {
			return dir, commit, out.String(), err
		}
		if older {
			fmt.Fprintf(&out, "not newer than live: %s\n", why)
			return dir, commit, out.String(), fmt.Errorf("%w: %s", errNotNewer, why)
		}
	}
	arch := exec.CommandContext(ctx, "git", "-C", repoDir, "archive", "--format=tar.gz", commit)
	var tgz bytes.Buffer
	arch.Stdout, arch.Stderr = &tgz, &out
	if err := arch.Run(); err != nil {
		return dir, commit, out.String(), fmt.Errorf("git archive %s: %w", commit, err)
	}
	if err := archive.Extract(&tgz, dir, archive.DefaultLimits()); err != nil {
		return dir, commit, out.String(), fmt.Errorf("unpack %s: %w", commit, err)
	}
	fmt.Fprintf(&out, "fetched %s from %s\n", commit, RedactURL(run.Repo))
	return dir, commit, out.String(), nil
}

// redact hides credentials in URLs among git's arguments.
func redact(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = RedactURL(a)
	}
	return out
}

// RedactURL replaces the user info of a URL with "***": repository URLs
// may carry a token, which is never shown.
func RedactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 && !strings.Contains(rest[:at], "/") {
		return scheme + "://***@" + rest[at+1:]
	}
	return u
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// lsRemote returns the commit that ref points to in repo.
func lsRemote(ctx context.Context, repo, ref string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if strings.HasPrefix(repo, "-") {
		return "", fmt.Errorf("refusing repository %q that looks like an option", RedactURL(repo))
	}
	cmd := exec.CommandContext(ctx, "git", "ls-remote", repo, ref)
	cmd.Env = gitEnv()
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git ls-remote %s: %w", RedactURL(repo), err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if sha, name, ok := strings.Cut(line, "\t"); ok && name == ref {
			return sha, nil
		}
	}
	return "", fmt.Errorf("%s has no %s", RedactURL(repo), ref)
}

// gitEnv is the environment of the git commands that fetch apps' code: no
// prompts, and only transports that fetch (no ext:: or other commands).
func gitEnv() []string {
	return append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ALLOW_PROTOCOL=https:http:ssh:git:file")
}
