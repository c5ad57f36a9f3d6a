package gitserver_test

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nonstopdev/nonstop/internal/source/gitserver"
)

const goodToken = "tok-good-0123456789"

// testHook stands in for `nonstop git-hook pre-receive`: it reports the
// environment it was given (never the token itself), accepts every ref but
// the deploy branch, and declines the deploy branch.
const testHook = `#!/bin/sh
echo "hook: app=$NONSTOP_APP branch=$NONSTOP_BRANCH server=$NONSTOP_SERVER token-ok=$( [ "$NONSTOP_TOKEN" = "` + goodToken + `" ] && echo yes || echo no )"
while read old new ref; do
	if [ "$ref" = "refs/heads/$NONSTOP_BRANCH" ]; then
		echo "hook: the test declines $ref"
		exit 1
	fi
done
exit 0
`

type fixture struct {
	t    *testing.T
	root string // the server's repositories
	srv  *httptest.Server
	env  []string // the git client's environment
	// chunked is set once a request came with a chunked body.
	chunked atomic.Bool
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is not installed: make test installs it (scripts/deps.sh)")
	}
	f := &fixture{t: t, root: filepath.Join(t.TempDir(), "git")}
	tools := t.TempDir()
	hook := filepath.Join(tools, "hook.sh")
	askpass := filepath.Join(tools, "askpass.sh")
	writeExec(t, hook, testHook)
	writeExec(t, askpass, "#!/bin/sh\ncase \"$1\" in Username*) echo x ;; *) echo \"$TEST_GIT_PASSWORD\" ;; esac\n")
	h, err := gitserver.New(gitserver.Config{
		Root: f.root,
		Authorize: func(r *http.Request, token, app string, push bool) (gitserver.Grant, error) {
			switch {
			case token != goodToken:
				return gitserver.Grant{}, fmt.Errorf("invalid token: %w", gitserver.ErrUnauthorized)
			case app != "hello":
				return gitserver.Grant{}, fmt.Errorf("app %s: %w", app, gitserver.ErrNotFound)
			}
			return gitserver.Grant{User: "alice"}, nil
		},
		ServerURL:   func() string { return "http://api.test" },
		HookCommand: []string{"/bin/sh", hook},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/git/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slices.Contains(r.TransferEncoding, "chunked") {
			f.chunked.Store(true)
		}
		h.ServeHTTP(w, r)
	}))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.env = append(os.Environ(),
		"HOME="+t.TempDir(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS="+askpass,
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com",
	)
	return f
}

func writeExec(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
}

// git runs git in dir with the client environment plus env.
func (f *fixture) git(dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(append([]string{}, f.env...), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (f *fixture) mustGit(dir string, args ...string) string {
	f.t.Helper()
	out, err := f.git(dir, nil, args...)
	if err != nil {
		f.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// workTree is a repository with one commit on main.
func (f *fixture) workTree() string {
	dir := f.t.TempDir()
	f.mustGit(dir, "init", "--quiet", "--initial-branch=main")
	os.WriteFile(filepath.Join(dir, "README"), []byte("hello\n"), 0o644)
	f.mustGit(dir, "add", ".")
	f.mustGit(dir, "commit", "--quiet", "-m", "first")
	return dir
}

// url is the app's repository URL, with user "x" and no password: the
// password comes from GIT_ASKPASS, so it is in no URL and no output.
func (f *fixture) url(app string) string {
	return strings.Replace(f.srv.URL, "http://", "http://x@", 1) + "/git/" + app + ".git"
}

func withToken(token string) []string { return []string{"TEST_GIT_PASSWORD=" + token} }

func TestPush_WithoutCredentialsFailsWithAuthenticationError(t *testing.T) {
	f := newFixture(t)
	dir := f.workTree()
	out, err := f.git(dir, []string{"GIT_ASKPASS="}, "push", f.srv.URL+"/git/hello.git", "main")
	if err == nil || !strings.Contains(out, "terminal prompts disabled") {
		t.Fatalf("push without credentials: err %v, want git to ask for them:\n%s", err, out)
	}
	out, err = f.git(dir, withToken(""), "push", f.url("hello"), "main")
	if err == nil || !strings.Contains(out, "Authentication failed") {
		t.Fatalf("push with an empty password: err %v, want an authentication failure:\n%s", err, out)
	}
	if _, err := os.Stat(f.root); !os.IsNotExist(err) {
		t.Errorf("an unauthenticated push created %s (stat: %v)", f.root, err)
	}
}

func TestPush_WrongTokenFailsWithAuthenticationError(t *testing.T) {
	f := newFixture(t)
	out, err := f.git(f.workTree(), withToken("tok-wrong"), "push", f.url("hello"), "main")
	if err == nil || !strings.Contains(out, "Authentication failed") {
		t.Fatalf("push with a wrong token: err %v, want an authentication failure:\n%s", err, out)
	}
}

func TestInfoRefs_ChallengesWithBasicRealm(t *testing.T) {
	f := newFixture(t)
	for _, token := range []string{"", "tok-wrong"} {
		req, _ := http.NewRequest("GET", f.srv.URL+"/git/hello.git/info/refs?service=git-receive-pack", nil)
		if token != "" {
			req.SetBasicAuth("x", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Basic realm="nonstop"` {
			t.Errorf("token %q: %d, WWW-Authenticate %q; want 401 with a Basic challenge", token, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
}

func TestPush_UnknownAppIsNotFound(t *testing.T) {
	f := newFixture(t)
	out, err := f.git(f.workTree(), withToken(goodToken), "push", f.url("other"), "main")
	if err == nil || !strings.Contains(out, "not found") {
		t.Fatalf("push to another team's app: err %v, want not found:\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(f.root, "other.git")); !os.IsNotExist(err) {
		t.Errorf("a refused push created a repository (stat: %v)", err)
	}
}

func TestPush_AuthorisedNonDeployBranchIsAcceptedAndHookGetsItsEnvironment(t *testing.T) {
	f := newFixture(t)
	dir := f.workTree()
	out, err := f.git(dir, withToken(goodToken), "push", f.url("hello"), "main:feature")
	if err != nil {
		t.Fatalf("authorised push of a branch that does not deploy: %v\n%s", err, out)
	}
	want := "remote: hook: app=hello branch=main server=http://api.test token-ok=yes"
	if !strings.Contains(out, want) {
		t.Errorf("push output lacks %q:\n%s", want, out)
	}
	head := strings.TrimSpace(f.mustGit(dir, "rev-parse", "HEAD"))
	refs, err := f.git(dir, withToken(goodToken), "ls-remote", f.url("hello"))
	if err != nil || !strings.Contains(refs, head+"\trefs/heads/feature") {
		t.Errorf("ls-remote after the push: %v\n%s", err, refs)
	}
	repo := filepath.Join(f.root, "hello.git")
	if b, err := os.ReadFile(filepath.Join(repo, "HEAD")); err != nil || string(b) != "ref: refs/heads/main\n" {
		t.Errorf("repository HEAD: %q, %v", b, err)
	}

	// The hook is rewritten on the next push when it changed.
	hook := filepath.Join(repo, "hooks", "pre-receive")
	writeExec(t, hook, "#!/bin/sh\nexit 0\n")
	os.WriteFile(filepath.Join(dir, "README"), []byte("hello again\n"), 0o644)
	f.mustGit(dir, "commit", "--quiet", "-am", "second")
	out, err = f.git(dir, withToken(goodToken), "push", f.url("hello"), "main:feature")
	if err != nil || !strings.Contains(out, want) {
		t.Fatalf("second push: %v; the hook was not restored:\n%s", err, out)
	}
}

func TestPush_DeclinedByHookLeavesBranchUnmoved(t *testing.T) {
	f := newFixture(t)
	dir := f.workTree()
	out, err := f.git(dir, withToken(goodToken), "push", f.url("hello"), "main")
	if err == nil {
		t.Fatalf("push declined by the hook exited 0:\n%s", out)
	}
	for _, want := range []string{"remote: hook: the test declines refs/heads/main", "pre-receive hook declined"} {
		if !strings.Contains(out, want) {
			t.Errorf("push output lacks %q:\n%s", want, out)
		}
	}
	refs, err := f.git(dir, withToken(goodToken), "ls-remote", f.url("hello"))
	if err != nil || strings.Contains(refs, "refs/heads/main") {
		t.Errorf("main moved although the hook declined it: %v\n%s", err, refs)
	}
}

// git sends large packs with a chunked body, which net/http/cgi refuses
// unless the handler turns it into a body of unknown length.
func TestPush_LargePackWithChunkedBody(t *testing.T) {
	f := newFixture(t)
	dir := f.workTree()
	big := make([]byte, 3<<20)
	rand.Read(big)
	os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644)
	f.mustGit(dir, "add", ".")
	f.mustGit(dir, "commit", "--quiet", "-m", "big")
	out, err := f.git(dir, withToken(goodToken), "push", f.url("hello"), "main:big")
	if err != nil {
		t.Fatalf("push of a 3 MiB pack: %v\n%s", err, out)
	}
	if !f.chunked.Load() {
		t.Error("git sent no chunked body: the test does not test what it says")
	}
	clone := filepath.Join(t.TempDir(), "clone")
	if out, err := f.git("", withToken(goodToken), "clone", "--quiet", "--branch", "big", f.url("hello"), clone); err != nil {
		t.Fatalf("clone: %v\n%s", err, out)
	}
	if got, err := os.ReadFile(filepath.Join(clone, "big.bin")); err != nil || len(got) != len(big) {
		t.Fatalf("cloned big.bin: %d bytes, %v", len(got), err)
	}
}

func TestHandler_RefusesDumbProtocolAndBadPaths(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{
		"/git/hello.git/HEAD",
		"/git/hello.git/info/refs",
		"/git/hello.git/objects/info/packs",
		"/git/..%2Fetc.git/info/refs?service=git-upload-pack",
		"/git/Hello.git/info/refs?service=git-upload-pack",
	} {
		req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
		req.SetBasicAuth("x", goodToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
}
