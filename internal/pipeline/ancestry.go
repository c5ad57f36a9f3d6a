package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// errNotNewer ends a webhook's run whose commit is the live one or an
// ancestor of it: a replayed or out-of-order push never rolls an app back.
var errNotNewer = errors.New("not newer than live")

// notNewer reports, with the reason, whether commit is live or an ancestor
// of live in the repository, whose ref it fetches with its whole commit
// history (commits only, no trees or files, where the server can filter)
// into repoDir. A live commit that the ref's history does not hold (the
// branch was force-pushed past it) makes commit newer.
func notNewer(ctx context.Context, git func(args ...string) error, repoDir, repo, ref, commit, live string) (string, bool, error) {
	if live == "" {
		return "", false, nil
	}
	if strings.HasPrefix(live, commit) || strings.HasPrefix(commit, live) {
		return fmt.Sprintf("%.12s is live", commit), true, nil
	}
	if ref == "" || strings.HasPrefix(ref, "-") {
		return "", false, nil
	}
	if err := git("-C", repoDir, "fetch", "-q", "--filter=tree:0", "--no-tags", repo, ref); err != nil {
		return "", false, fmt.Errorf("git fetch the history of %s: %w", ref, err)
	}
	// A filtered fetch makes the repository a partial clone, which would
	// fetch a missing commit (live, gone from the branch) on demand: forget
	// the remote, so that what the ref's history lacks stays missing.
	if err := git("-C", repoDir, "config", "--remove-section", "remote."+repo); err != nil {
		return "", false, fmt.Errorf("git config: %w", err)
	}
	// Exit 1: not an ancestor; any other failure: live is not in the ref's
	// history, so commit is what the branch holds now.
	if err := exec.CommandContext(ctx, "git", "-C", repoDir, "merge-base", "--is-ancestor", commit, live).Run(); err != nil {
		return "", false, nil
	}
	return fmt.Sprintf("%.12s is an ancestor of the live commit %.12s", commit, live), true, nil
}
