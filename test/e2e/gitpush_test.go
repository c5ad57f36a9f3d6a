package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/loadgen"
)

// pushRepo is a work tree of the hello app that a stock git client pushes to
// the cluster. The token reaches git through GIT_ASKPASS, so it is in no
// URL, no command line and no output.
type pushRepo struct {
	t   *testing.T
	c   *cluster
	dir string
	env []string
}

func newPushRepo(t *testing.T, c *cluster, yaml string) *pushRepo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is not installed: make test installs it (scripts/deps.sh)")
	}
	tools := t.TempDir()
	askpass := filepath.Join(tools, "askpass.sh")
	if err := os.WriteFile(askpass, []byte("#!/bin/sh\necho \"$NONSTOP_TEST_GIT_PASSWORD\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	g := &pushRepo{t: t, c: c, dir: appSource(t, yaml), env: append(os.Environ(),
		"HOME="+tools, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS="+askpass,
		"GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@example.com",
		"GIT_COMMITTER_NAME=Dev", "GIT_COMMITTER_EMAIL=dev@example.com",
	)}
	g.mustGit("init", "--quiet", "--initial-branch=main")
	g.commit(yaml)
	return g
}

// git runs git in the work tree with the given password; the output has
// the token blanked out, so that it can be shown.
func (g *pushRepo) git(password string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = g.dir
	cmd.Env = append(append([]string{}, g.env...), "NONSTOP_TEST_GIT_PASSWORD="+password)
	out, err := cmd.CombinedOutput()
	return strings.ReplaceAll(string(out), g.c.token, "<token>"), err
}

func (g *pushRepo) mustGit(args ...string) string {
	g.t.Helper()
	out, err := g.git("", args...)
	if err != nil {
		g.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// commit writes nonstop.yaml and commits the tree; it returns the commit.
func (g *pushRepo) commit(yaml string) string {
	g.t.Helper()
	if err := os.WriteFile(filepath.Join(g.dir, "nonstop.yaml"), []byte(yaml), 0o644); err != nil {
		g.t.Fatal(err)
	}
	g.mustGit("add", "-A")
	g.mustGit("commit", "--quiet", "--allow-empty", "-m", "deploy")
	return strings.TrimSpace(g.mustGit("rev-parse", "HEAD"))
}

func (g *pushRepo) url(app string) string { return "http://x@" + g.c.api + "/git/" + app + ".git" }

// push pushes refspec to app with password as the token.
func (g *pushRepo) push(password, app, refspec string) (string, error) {
	return g.git(password, "push", g.url(app), refspec)
}

// remoteHead is what the server's repository says a branch points at.
func (g *pushRepo) remoteHead(branch string) string {
	g.t.Helper()
	out, err := g.git(g.c.token, "ls-remote", g.url("hello"), "refs/heads/"+branch)
	if err != nil {
		g.t.Fatalf("git ls-remote: %v\n%s", err, out)
	}
	sha, _, _ := strings.Cut(strings.TrimSpace(out), "\t")
	return sha
}

func pushOutputHas(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, out)
		}
	}
}

// The git-push promise: a stock git client deploys by pushing, sees the
// rollout as `remote:` lines, a second push rolls out under load without a
// failed request, and a push of a release that fails its health check is
// rejected: the branch does not move and the live release keeps serving.
func TestGitPush_DeploysRollsOutUnderLoadAndRejectsAFailedRelease(t *testing.T) {
	c := newCluster(t)
	c.mustRun("apps", "create", "hello")
	g := newPushRepo(t, c, helloSpec("1", "20s"))

	// Wrong token, unknown app: refused before anything is received.
	out, err := g.push("not-a-token", "hello", "main")
	if err == nil || !strings.Contains(out, "Authentication failed") {
		t.Fatalf("push with a wrong token: err %v, want an authentication failure:\n%s", err, out)
	}
	out, err = g.push(c.token, "no_such_app", "main")
	if err == nil || !strings.Contains(out, "not found") {
		t.Fatalf("push to an app that is not and cannot be (not an app name): err %v, want not found:\n%s", err, out)
	}

	// First push: deployed, the push waits for it and shows it.
	v1 := strings.TrimSpace(g.mustGit("rev-parse", "HEAD"))
	out, err = g.push(c.token, "hello", "main")
	if err != nil {
		t.Fatalf("first push: %v\n%s", err, out)
	}
	t.Logf("first push:\n%s", out)
	pushOutputHas(t, "first push output", out, "remote: nonstop: deploying main "+v1[:12], "remote: deploy #", "remote:   progress:", "remote: ✓ hello: v1 is live")
	if got := g.remoteHead("main"); got != v1 {
		t.Fatalf("remote main is %q after the first push, want %s", got, v1)
	}
	assertServes(t, c, "1")

	// A branch that does not deploy is accepted as it is.
	out, err = g.push(c.token, "hello", "main:feature")
	if err != nil {
		t.Fatalf("push of a branch that does not deploy: %v\n%s", err, out)
	}
	pushOutputHas(t, "feature push output", out, "refs/heads/feature does not deploy")
	if strings.Contains(out, "deploy #") {
		t.Errorf("a push of another branch deployed:\n%s", out)
	}

	load := loadgen.Start(context.Background(), loadgen.Config{
		URL: "http://" + c.http, Host: "hello.localhost", Workers: 4,
		SlowPath: "/slow?ms=1500", SlowWorkers: 3, MaxDuration: 10 * time.Minute,
	})
	defer load.Stop()
	time.Sleep(500 * time.Millisecond)

	// Second push, under load.
	v2 := g.commit(helloSpec("2", "20s"))
	out, err = g.push(c.token, "hello", "main")
	if err != nil {
		t.Fatalf("second push: %v\n%s", err, out)
	}
	pushOutputHas(t, "second push output", out, "remote:   progress:", "remote: ✓ hello: v2 is live")
	assertServes(t, c, "2")

	// A release whose health check fails: the push is rejected.
	v3 := g.commit(helloSpec("3", "3s", `UNHEALTHY: "1"`))
	out, err = g.push(c.token, "hello", "main")
	if err == nil {
		t.Fatalf("push of an unhealthy release was accepted:\n%s", out)
	}
	t.Logf("rejected push:\n%s", out)
	pushOutputHas(t, "rejected push output", out, "remote: nonstop: deploy #", "rolled back", "not healthy after 3s",
		"last log lines", "v3 listening", "v2 keeps serving", "push rejected: main stays at "+v2[:12], "pre-receive hook declined")
	if got := g.remoteHead("main"); got != v2 {
		t.Errorf("remote main is %q after a rejected push, want %s (v2), not %s (v3)", got, v2, v3)
	}
	assertServes(t, c, "2")

	// Deleting the deploy branch is refused.
	out, err = g.push(c.token, "hello", ":main")
	if err == nil {
		t.Fatalf("deletion of the deploy branch was accepted:\n%s", out)
	}
	pushOutputHas(t, "deletion output", out, "deleting main, the deploy branch of hello, is refused", "pre-receive hook declined")
	if got := g.remoteHead("main"); got != v2 {
		t.Errorf("remote main is %q after a refused deletion, want %s", got, v2)
	}
	time.Sleep(500 * time.Millisecond)

	res := load.Stop()
	t.Logf("load: sent %d, ok %d, failed %d, slow ok %d, versions %s", res.Sent, res.OK, res.Failed, res.Slow, res.VersionList())
	if res.Failed != 0 {
		t.Fatalf("%d of %d requests failed; first: %v", res.Failed, res.Sent, res.Errors)
	}
	if res.Slow < 5 {
		t.Fatalf("only %d slow requests completed: the cut-over was not tested with requests in flight", res.Slow)
	}
	if res.Versions["v2"] == 0 || res.Versions["v3"] != 0 {
		t.Errorf("versions served under load: %s; want v2, and never v3", res.VersionList())
	}
}

// A member's first push to a name no app has creates the app in their
// team and says so; a viewer's is refused and creates nothing.
func TestGitPush_AFirstPushCreatesTheAppInThePushersTeam(t *testing.T) {
	c := newCluster(t)
	c.mustRun("teams", "create", "shop")
	ann := tokenIn(t, c.mustRun("users", "create", "ann", "--team", "shop"))
	vic := tokenIn(t, c.mustRun("users", "create", "vic", "--team", "shop", "--role", "viewer"))
	g := newPushRepo(t, c, strings.Replace(helloSpec("1", "20s"), "name: hello", "name: fresh", 1))

	out, err := g.push(vic, "fresh", "main")
	if err == nil || !strings.Contains(out, "not found") {
		t.Fatalf("a viewer's push to a new name: err %v, want it refused:\n%s", err, out)
	}
	if apps, _ := c.client().Apps(context.Background()); len(apps) != 0 {
		t.Fatalf("a viewer's push created %+v", apps)
	}

	out, err = g.push(ann, "fresh", "main")
	if err != nil {
		t.Fatalf("ann's first push: %v\n%s", err, out)
	}
	pushOutputHas(t, "ann's first push", out, "remote: nonstop: created app fresh in team shop", "remote: ✓ fresh: v1 is live")
	apps, err := c.client().Apps(context.Background())
	if err != nil || len(apps) != 1 || apps[0].Name != "fresh" {
		t.Fatalf("apps after ann's push: %+v %v", apps, err)
	}
	if teams := c.mustRun("apps", "list"); !strings.Contains(teams, "fresh") {
		t.Errorf("apps list:\n%s", teams)
	}
	wantAnswer(t, c, "fresh", 200, "from v1")
	if audit := c.mustRun("audit"); !strings.Contains(audit, "app create") || !strings.Contains(audit, "git push") {
		t.Errorf("the audit log does not record the app made by git push:\n%s", audit)
	}
}

// After `nonstop login`, a stock `git push` from a shell with no terminal
// deploys: git asks nonstop's credential helper, which login installed,
// and no token is in the remote's URL or the repository's config.
func TestGitPush_AfterLoginAStockPushNeedsNoTokenInTheURL(t *testing.T) {
	c := newCluster(t)
	home := t.TempDir()
	env := append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+filepath.Join(home, ".gitconfig"), "GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=", "SSH_ASKPASS=", "NONSTOP_TOKEN=", "NONSTOP_SERVER=",
		"GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_NAME=Dev", "GIT_COMMITTER_EMAIL=dev@example.com")
	run := func(dir, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, strings.ReplaceAll(string(out), c.token, "<token>"))
		}
		return strings.ReplaceAll(string(out), c.token, "<token>")
	}
	out := run(home, binary, "login", "http://"+c.api, "--token", c.token)
	if !strings.Contains(out, "git push to http://"+c.api+"/git/APP.git now uses this token") {
		t.Fatalf("nonstop login did not install the credential helper:\n%s", out)
	}
	dir := appSource(t, strings.Replace(helloSpec("1", "20s"), "name: hello", "name: pushed", 1))
	run(dir, "git", "init", "--quiet", "--initial-branch=main")
	run(dir, "git", "add", "-A")
	run(dir, "git", "commit", "--quiet", "-m", "first")
	run(dir, "git", "remote", "add", "origin", "http://"+c.api+"/git/pushed.git")
	out = run(dir, "git", "push", "origin", "main")
	pushOutputHas(t, "a stock push after login", out, "remote: nonstop: created app pushed", "remote: ✓ pushed: v1 is live")
	cfg, _ := os.ReadFile(filepath.Join(dir, ".git", "config"))
	if strings.Contains(string(cfg), c.token) || strings.Contains(out, c.token) {
		t.Errorf("the token is in the repository's config or git's output")
	}
	wantAnswer(t, c, "pushed", 200, "from v1")
}
