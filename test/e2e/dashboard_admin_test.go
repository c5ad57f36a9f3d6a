package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nonstopdev/nonstop/internal/client"
)

// text reads the text of what sel matches, joined by "|".
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`[...document.querySelectorAll(`+"`"+sel+"`"+`)].map(e => e.textContent.trim()).join("|")`))
	if err != nil {
		b.fatalf("read %s: %v", sel, err)
	}
	return s
}

// waitText polls what sel shows until ok holds.
func (b *browser) waitText(what, sel string, timeout time.Duration, ok func(string) bool) string {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := b.text(sel)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			b.fatalf("waited %s for %s; %s shows %q", timeout, what, sel, s)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// An admin, in the browser, makes a team and a member, makes an API token
// and revokes it (refused at once after), then creates an app from a git
// repository, which is fetched, built and deployed, and finds its push
// remote and webhooks in its settings.
func TestDashboard_AnAdminManagesPeopleAndCreatesAnAppFromARepository(t *testing.T) {
	b := newBrowser(t)
	c := newCluster(t)
	repo := newGitRepo(t)
	repo.commit("1")
	b.do("open the dashboard", chromedp.EmulateViewport(1280, 900), chromedp.Navigate("http://"+c.api+"/#/"))
	b.login(c.token)
	b.waitUntil("the app list", 15*time.Second, func(s pageState) bool { return strings.Contains(s.Whoami, "admin") })

	b.do("open People", chromedp.Click(chromedp.CSS("#nav-admin")))
	b.do("create team shop", chromedp.SendKeys(chromedp.CSS("#team-name"), "shop"), chromedp.Click(chromedp.CSS(`#team-form button[type="submit"]`)))
	b.waitText("team shop listed", `#teams tr[data-team="shop"]`, 15*time.Second, func(s string) bool { return strings.HasPrefix(s, "shop") })
	b.do("add ann to shop",
		chromedp.SendKeys(chromedp.CSS("#user-name"), "ann"),
		chromedp.SendKeys(chromedp.CSS("#user-teams"), "shop"),
		chromedp.SendKeys(chromedp.CSS("#user-password"), "ann's long passphrase"),
		chromedp.Click(chromedp.CSS(`#user-form button[type="submit"]`)))
	b.waitText("ann listed as a member of shop", `#users tr[data-user="ann"]`, 15*time.Second, func(s string) bool {
		return strings.Contains(s, "member") && strings.Contains(s, "shop")
	})
	annToken := b.text("#new-token code")
	if !strings.HasPrefix(annToken, "nst_") {
		t.Errorf("ann's token is not shown once after creating her: %q", annToken)
	}

	b.do("create token ci", chromedp.SendKeys(chromedp.CSS("#new-token-name"), "ci"), chromedp.Click(chromedp.CSS(`#token-create-form button[type="submit"]`)))
	secret := b.waitText("the new token shown once", "#new-token code", 15*time.Second, func(s string) bool { return strings.HasPrefix(s, "nst_") && s != annToken })
	b.waitText("token ci listed", `#tokens tr[data-token="ci"]`, 15*time.Second, func(s string) bool { return strings.HasPrefix(s, "ci") })
	if _, err := client.New("http://"+c.api, secret).Whoami(context.Background()); err != nil {
		t.Fatalf("the token made in the dashboard does not work: %v", err)
	}
	b.screenshot("people")
	b.do("revoke token ci", chromedp.Click(chromedp.CSS(`#tokens tr[data-token="ci"] button.danger`)))
	b.waitText("token ci gone", `#tokens tr[data-token="ci"]`, 15*time.Second, func(s string) bool { return s == "" })
	if _, err := client.New("http://"+c.api, secret).Whoami(context.Background()); err == nil {
		t.Error("the revoked token still works")
	}

	b.do("back to the apps", chromedp.Click(chromedp.CSS("#nav-apps")))
	b.do("create app hello from the repository",
		chromedp.SendKeys(chromedp.CSS("#new-app-name"), "hello"),
		chromedp.SendKeys(chromedp.CSS("#new-app-repo"), repo.url()),
		chromedp.SendKeys(chromedp.CSS("#new-app-branch"), "main"),
		chromedp.Click(chromedp.CSS("#create-app")))
	b.waitUntil("hello's page with v1 live, fetched from the repository", 2*time.Minute, func(s pageState) bool {
		return s.AppName == "hello" && s.Live == "v1" && s.RolloutState == "done"
	})
	wantAnswer(t, c, "hello", 200, "from v1")

	b.do("open the settings tab", chromedp.Click(chromedp.CSS(`#tabs a[data-tab="settings"]`)))
	b.waitText("the push remote", "#git-remote", 15*time.Second, func(s string) bool { return strings.HasSuffix(s, "/git/hello.git") })
	b.waitText("the webhook URLs", "#webhook-urls li", 15*time.Second, func(s string) bool { return strings.Contains(s, "/hooks/github/hello") })
	if v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("#set-repo").value`)); err != nil || v != repo.url() {
		t.Errorf("the settings show repository %q (%v), want %s", v, err, repo.url())
	}
	b.do("reveal the webhook secret", chromedp.Click(chromedp.CSS("#webhook-reveal")))
	b.waitText("the webhook secret revealed", "#webhook-secret", 15*time.Second, func(s string) bool { return len(s) >= 32 && !strings.Contains(s, "•") })
	b.screenshot("app-settings")
}
