package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/wire"
)

// gitRepo is a local bare repository and a work tree that pushes to it.
type gitRepo struct {
	t          *testing.T
	bare, work string
}

func newGitRepo(t *testing.T) *gitRepo {
	t.Helper()
	g := &gitRepo{t: t, bare: filepath.Join(t.TempDir(), "hello.git")}
	g.git("", "init", "-q", "--bare", "-b", "main", g.bare)
	g.work = appSource(t, helloSpec("1", "20s"))
	g.git(g.work, "init", "-q", "-b", "main")
	g.git(g.work, "remote", "add", "origin", g.bare)
	return g
}

func (g *gitRepo) git(dir string, args ...string) string {
	g.t.Helper()
	if dir != "" {
		args = append([]string{"-C", dir}, args...)
	}
	args = append([]string{"-c", "user.name=t", "-c", "user.email=t@t"}, args...)
	out, err := exec.Command("git", args...).CombinedOutput()
	if err != nil {
		g.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes the hello app at a version, commits and pushes it; it
// returns the commit.
func (g *gitRepo) commit(version string, env ...string) string {
	g.t.Helper()
	if err := os.WriteFile(filepath.Join(g.work, "nonstop.yaml"), []byte(helloSpec(version, "30s", env...)), 0o644); err != nil {
		g.t.Fatal(err)
	}
	g.git(g.work, "add", ".")
	g.git(g.work, "commit", "-qm", "v"+version)
	g.git(g.work, "push", "-q", "origin", "main")
	return g.git(g.work, "rev-parse", "HEAD")
}

func (g *gitRepo) url() string { return "file://" + g.bare }

// waitRun waits for the app's run number n to end and returns it.
func (c *cluster) waitRun(app string, n int, timeout time.Duration) *wire.RunView {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r, err := c.client().Run(context.Background(), app, n)
		if err == nil && r.State.Terminal() {
			return r
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("run #%d of %s did not end in %s: %+v %v", n, app, timeout, r, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// hookPost sends a webhook to the cluster and returns the status and body.
func (c *cluster) hookPost(forge, app string, body []byte, hdr map[string]string) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", "http://"+c.api+"/hooks/"+forge+"/"+app, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

func hmacHex(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Webhooks in each forge's own format and scheme: a good signature makes
// one run that fetches the pushed commit from the app's repository and
// deploys it; a bad or missing one is refused; a redelivery makes no second
// run; a ping is answered.
func TestWebhooks_EachForgeDeploysThePushedCommitAndBadOnesAreRefused(t *testing.T) {
	c := newCluster(t)
	g := newGitRepo(t)
	c.mustRun("apps", "create", "hello")
	c.mustRun("apps", "set", "hello", "--repo", g.url(), "--branch", "main")
	out := c.mustRun("apps", "webhook", "hello")
	if strings.Count(out, "url: ") != 4 || !strings.Contains(out, "/hooks/github/hello") {
		t.Fatalf("apps webhook:\n%s", out)
	}
	secret := strings.TrimSpace(out[strings.Index(out, "secret: ")+len("secret: "):])

	sha1 := g.commit("1")
	github := []byte(fmt.Sprintf(`{"ref":"refs/heads/main","before":"%s","after":"%s","created":false,"deleted":false,
		"repository":{"full_name":"acme/hello","clone_url":"%s","html_url":"https://github.com/acme/hello"},"pusher":{"name":"octocat"}}`,
		strings.Repeat("0", 40), sha1, g.url()))
	ghHeaders := func(delivery, sig string) map[string]string {
		h := map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": delivery}
		if sig != "" {
			h["X-Hub-Signature-256"] = sig
		}
		return h
	}
	if code, body := c.hookPost("github", "hello", github, ghHeaders("d-1", "sha256="+hmacHex("wrong", github))); code != 401 {
		t.Fatalf("a bad signature: %d %s", code, body)
	}
	if code, body := c.hookPost("github", "hello", github, ghHeaders("d-1", "")); code != 401 {
		t.Fatalf("no signature: %d %s", code, body)
	}
	if runs, _ := c.client().Runs(context.Background(), "hello"); len(runs) != 0 {
		t.Fatalf("refused webhooks made runs: %+v", runs)
	}
	ping := []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)
	if code, body := c.hookPost("github", "hello", ping, map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": "sha256=" + hmacHex(secret, ping)}); code != 200 || !strings.Contains(body, "pong") {
		t.Fatalf("ping: %d %s", code, body)
	}
	start := time.Now()
	code, body := c.hookPost("github", "hello", github, ghHeaders("d-1", "sha256="+hmacHex(secret, github)))
	if code != 202 || time.Since(start) > time.Second {
		t.Fatalf("a good webhook: %d %s in %s", code, body, time.Since(start))
	}
	if code, body := c.hookPost("github", "hello", github, ghHeaders("d-1", "sha256="+hmacHex(secret, github))); code != 200 || !strings.Contains(body, "already seen") {
		t.Fatalf("a redelivery: %d %s", code, body)
	}
	r := c.waitRun("hello", 1, 2*time.Minute)
	if r.State != "succeeded" || r.Trigger != "webhook" || r.Commit != sha1 {
		t.Fatalf("run #1: %+v", r)
	}
	assertServes(t, c, "1")

	// GitLab: the token is the secret.
	sha2 := g.commit("2")
	gitlab := []byte(fmt.Sprintf(`{"object_kind":"push","event_name":"push","ref":"refs/heads/main","before":"%s","after":"%s","checkout_sha":"%s",
		"user_username":"jsmith","project":{"git_http_url":"%s","web_url":"https://gitlab.example.com/acme/hello"},"repository":{"git_http_url":"%s"}}`,
		sha1, sha2, sha2, g.url(), g.url()))
	if code, body := c.hookPost("gitlab", "hello", gitlab, map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "nope"}); code != 401 {
		t.Fatalf("gitlab with a wrong token: %d %s", code, body)
	}
	if code, body := c.hookPost("gitlab", "hello", gitlab, map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": secret, "X-Gitlab-Event-UUID": "u-2"}); code != 202 {
		t.Fatalf("gitlab: %d %s", code, body)
	}
	if r := c.waitRun("hello", 2, 2*time.Minute); r.State != "succeeded" || r.Commit != sha2 {
		t.Fatalf("run #2: %+v", r)
	}
	assertServes(t, c, "2")

	// Gitea: a bare hex HMAC.
	sha3 := g.commit("3")
	gitea := []byte(fmt.Sprintf(`{"ref":"refs/heads/main","before":"%s","after":"%s","repository":{"clone_url":"%s","html_url":"https://gitea.example.com/acme/hello"},"pusher":{"login":"gitea"}}`,
		sha2, sha3, g.url()))
	if code, body := c.hookPost("gitea", "hello", gitea, map[string]string{"X-Gitea-Event": "push", "X-Gitea-Delivery": "g-3", "X-Gitea-Signature": hmacHex(secret, gitea)}); code != 202 {
		t.Fatalf("gitea: %d %s", code, body)
	}
	if r := c.waitRun("hello", 3, 2*time.Minute); r.State != "succeeded" || r.Commit != sha3 {
		t.Fatalf("run #3: %+v", r)
	}

	// Generic, and pushes that deploy nothing.
	sha4 := g.commit("4")
	other := []byte(fmt.Sprintf(`{"ref":"refs/heads/dev","commit":"%s","repository":"%s"}`, sha4, g.url()))
	if code, body := c.hookPost("generic", "hello", other, map[string]string{"X-Nonstop-Signature": "sha256=" + hmacHex(secret, other)}); code != 202 || !strings.Contains(body, "ignored") {
		t.Fatalf("a push to another branch: %d %s", code, body)
	}
	foreign := []byte(fmt.Sprintf(`{"ref":"refs/heads/main","commit":"%s","repository":"file:///srv/someone-else.git"}`, sha4))
	if code, _ := c.hookPost("generic", "hello", foreign, map[string]string{"X-Nonstop-Signature": "sha256=" + hmacHex(secret, foreign)}); code != 400 {
		t.Fatalf("a payload naming another repository: %d", code)
	}
	generic := []byte(fmt.Sprintf(`{"ref":"refs/heads/main","commit":"%s","repository":"%s"}`, sha4, g.url()))
	if code, body := c.hookPost("generic", "hello", generic, map[string]string{"X-Nonstop-Signature": "sha256=" + hmacHex(secret, generic), "X-Nonstop-Delivery": "n-4"}); code != 202 {
		t.Fatalf("generic: %d %s", code, body)
	}
	if r := c.waitRun("hello", 4, 2*time.Minute); r.State != "succeeded" || r.Commit != sha4 {
		t.Fatalf("run #4: %+v", r)
	}
	assertServes(t, c, "4")

	// Replays: the first push again, signed but with no delivery id (or a
	// new one), rolls nothing back; a push of the live commit deploys
	// nothing.
	if code, body := c.hookPost("github", "hello", github, ghHeaders("", "sha256="+hmacHex(secret, github))); code != 200 || !strings.Contains(body, "already seen: a push of refs/heads/main at "+sha1[:12]) {
		t.Fatalf("a replay of the first push without a delivery id: %d %s", code, body)
	}
	if code, body := c.hookPost("generic", "hello", generic, map[string]string{"X-Nonstop-Signature": "sha256=" + hmacHex(secret, generic), "X-Nonstop-Delivery": "n-5"}); code != 200 || !strings.Contains(body, "not newer than live") {
		t.Fatalf("a push of the live commit: %d %s", code, body)
	}
	if runs, _ := c.client().Runs(context.Background(), "hello"); len(runs) != 4 {
		t.Fatalf("replayed pushes made runs: %d runs", len(runs))
	}
	assertServes(t, c, "4")

	runs := c.mustRun("runs", "hello")
	for _, want := range []string{"#4", "succeeded", "webhook", sha4[:12], "fetch ok", "build ok", "deploy ok", "verify ok"} {
		if !strings.Contains(runs, want) {
			t.Errorf("runs lack %q:\n%s", want, runs)
		}
	}
	logs := c.mustRun("runs", "logs", "hello", "4")
	if !strings.Contains(logs, "fetched "+sha4) || !strings.Contains(logs, "v4 live") && !strings.Contains(logs, "done") {
		t.Errorf("run logs:\n%s", logs)
	}
}

// An app that watches its repository deploys each new commit of its branch.
func TestPolling_ANewCommitIsPickedUpAndDeployed(t *testing.T) {
	c := newCluster(t)
	g := newGitRepo(t)
	g.commit("1")
	c.mustRun("apps", "create", "hello")
	c.mustRun("apps", "set", "hello", "--repo", g.url(), "--poll", "5s")
	r := c.waitRun("hello", 1, 2*time.Minute)
	if r.State != "succeeded" || r.Trigger != "poll" {
		t.Fatalf("first polled run: %+v", r)
	}
	assertServes(t, c, "1")
	sha := g.commit("2")
	r = c.waitRun("hello", 2, 2*time.Minute)
	if r.State != "succeeded" || r.Commit != sha {
		t.Fatalf("run for the new commit: %+v", r)
	}
	assertServes(t, c, "2")
	time.Sleep(6 * time.Second)
	if runs, _ := c.client().Runs(context.Background(), "hello"); len(runs) != 2 {
		t.Fatalf("polling deployed an unchanged branch again: %d runs", len(runs))
	}
}

// POST deploys {"git": {"url", "ref"}}: a run fetches and deploys the ref.
func TestGitDeploy_ARunFetchesTheRefAndDeploysIt(t *testing.T) {
	c := newCluster(t)
	g := newGitRepo(t)
	sha := g.commit("1")
	c.mustRun("apps", "create", "hello")
	body := []byte(fmt.Sprintf(`{"git": {"url": %q, "ref": "main"}}`, g.url()))
	req, _ := http.NewRequest("POST", "http://"+c.api+"/api/v1/apps/hello/deploys", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("git deploy: %d", resp.StatusCode)
	}
	if r := c.waitRun("hello", 1, 2*time.Minute); r.State != "succeeded" || r.Commit != sha {
		t.Fatalf("run: %+v", r)
	}
	assertServes(t, c, "1")
}
