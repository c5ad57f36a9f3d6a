package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// tokenIn finds the token a command printed once.
func tokenIn(t *testing.T, out string) string {
	t.Helper()
	tok := regexp.MustCompile(`nst_[a-z0-9]+`).FindString(out)
	if tok == "" {
		t.Fatalf("no token in:\n%s", out)
	}
	return tok
}

// A team shares one server: the admin adds a team, a member and a viewer
// with the CLI; the member creates and deploys the team's app; the viewer
// sees it and can change nothing of it (CLI, git push); tokens are made,
// listed and revoked; a deleted user's token opens nothing.
func TestAccounts_ATeamSharesTheServerEachAsTheirRoleAllows(t *testing.T) {
	c := newCluster(t)
	c.mustRun("teams", "create", "shop")
	ann := tokenIn(t, c.mustRun("users", "create", "ann", "--team", "shop"))
	vic := tokenIn(t, c.mustRun("users", "create", "vic", "--role", "viewer", "--team", "shop"))
	users := c.mustRun("users", "list")
	for _, want := range []string{"ann", "member", "vic", "viewer", "shop"} {
		if !strings.Contains(users, want) {
			t.Errorf("users list does not show %q:\n%s", want, users)
		}
	}

	asAnn := func(args ...string) string {
		t.Helper()
		out, code := c.runAs(ann, args...)
		if code != 0 {
			t.Fatalf("nonstop %s as ann: exit %d\n%s", strings.Join(args, " "), code, out)
		}
		return out
	}
	asAnn("apps", "create", "hello", "--team", "shop")
	asAnn("deploy", appSource(t, helloSpec("1", "20s")), "--app", "hello")
	assertServes(t, c, "1")

	if out, code := c.runAs(vic, "status", "hello"); code != 0 || !strings.Contains(out, "v1") {
		t.Errorf("the viewer's status of the team's app: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"deploy", appSource(t, helloSpec("2", "20s")), "--app", "hello"},
		{"scale", "hello", "3"},
		{"stop", "hello"},
		{"env", "set", "hello", "K=V"},
		{"apps", "delete", "hello"},
		{"apps", "create", "mine", "--team", "shop"},
		{"users", "list"},
	} {
		out, code := c.runAs(vic, args...)
		if code == 0 || !strings.Contains(out, "viewer") && !strings.Contains(out, "only admins") {
			t.Errorf("nonstop %s as the viewer: exit %d, want refused, saying why:\n%s", strings.Join(args, " "), code, out)
		}
	}
	g := newPushRepo(t, c, helloSpec("3", "20s"))
	if out, err := g.push(vic, "hello", "main"); err == nil || !strings.Contains(out, "viewers may fetch, not push") {
		t.Errorf("git push as the viewer: %v, want refused:\n%s", err, out)
	}
	assertServes(t, c, "1")

	// Tokens: made for oneself, listed without their secret, revoked at once.
	out := asAnn("tokens", "create", "--name", "ci", "--expires", "24h")
	ci := tokenIn(t, out)
	if _, code := c.runAs(ci, "status", "hello"); code != 0 {
		t.Fatalf("ann's new token is refused")
	}
	list := asAnn("tokens", "list")
	if !strings.Contains(list, "ci") || strings.Contains(list, ci) {
		t.Errorf("tokens list: want ci without its secret:\n%s", list)
	}
	id := regexp.MustCompile(`token (\d+) "ci"`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("no token id in:\n%s", out)
	}
	asAnn("tokens", "revoke", id[1])
	if out, code := c.runAs(ci, "status", "hello"); code == 0 || !strings.Contains(out, "invalid token") {
		t.Errorf("a revoked token: exit %d, want refused:\n%s", code, out)
	}

	c.mustRun("users", "delete", "vic")
	if out, code := c.runAs(vic, "status", "hello"); code == 0 || !strings.Contains(out, "invalid token") {
		t.Errorf("a deleted user's token: exit %d, want refused:\n%s", code, out)
	}
}
