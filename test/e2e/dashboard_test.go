package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/nonstopdev/nonstop/internal/wire"
)

// dashboardTimeout bounds a whole browser scenario: the browser and every
// wait in it end with it, so a page that never gets where it should fails
// the test instead of hanging it.
const dashboardTimeout = 8 * time.Minute

// TestDashboard_LoginCreateDeployByUploadWatchStopStartAndRollback drives the
// dashboard served at / on the API listener in a real headless Chromium, as
// a user would: log in with a token, create an app, deploy it twice by
// uploading a zip of its source and watch the rollouts end, roll back to the
// first release from the releases table, stop it and start it again. Each
// step is checked on the page and through the proxy. A wrong token shows an
// error and no app.
func TestDashboard_LoginCreateDeployByUploadWatchStopStartAndRollback(t *testing.T) {
	b := newBrowser(t)
	c := newCluster(t)
	home := "http://" + c.api + "/#/"

	b.do("open the dashboard", chromedp.Navigate(home))
	b.login(c.token)
	b.waitUntil("whoami to name the admin", 15*time.Second, func(s pageState) bool {
		return strings.Contains(s.Whoami, "admin")
	})

	b.do("create app web",
		chromedp.SendKeys(chromedp.CSS("#new-app-name"), "web"),
		chromedp.Click(chromedp.CSS("#create-app")))
	b.waitUntil(`the app list to have a row for web`, 15*time.Second, func(s pageState) bool {
		return slices.Contains(s.Apps, "web")
	})
	if href := b.attr(`a.app-link[data-app="web"]`, "href"); !strings.HasSuffix(href, "#/apps/web") {
		t.Errorf(`a.app-link[data-app="web"]: href %q, want it to end in #/apps/web`, href)
	}

	// A wrong token, in a tab of its own (sessionStorage is per tab, so
	// the admin's login above does not carry over): an error, no apps.
	b.wrongLogin(home, "nst_not-a-real-token")

	b.do("open app web", chromedp.Click(chromedp.CSS(`a.app-link[data-app="web"]`)))
	b.waitUntil("the page of app web", 15*time.Second, func(s pageState) bool {
		return s.Hash == "#/apps/web" && s.AppName == "web"
	})

	webSpec := func(version string) string {
		return strings.Replace(helloSpec(version, "30s"), "name: hello", "name: web", 1)
	}
	b.deploy(sourceZipFile(t, appSource(t, webSpec("1"))))
	b.waitUntil("v1 live after its rollout", time.Minute, func(s pageState) bool {
		return s.Live == "v1" && s.RolloutState == "done" && len(s.Events) >= 3
	})
	b.waitUntil("two instances and release 1 listed", 15*time.Second, func(s pageState) bool {
		return s.Instances == 2 && slices.Contains(s.Releases, "1")
	})
	wantAnswer(t, c, "web", 200, "from v1")

	b.deploy(sourceZipFile(t, appSource(t, webSpec("2"))))
	b.waitUntil("v2 live after its rollout, with its events", time.Minute, func(s pageState) bool {
		return s.Live == "v2" && s.RolloutState == "done" && len(s.Events) >= 3 &&
			slices.ContainsFunc(s.Events, func(e string) bool { return strings.Contains(e, "v2") })
	})
	b.waitUntil("releases 1 and 2 listed", 15*time.Second, func(s pageState) bool {
		return slices.Contains(s.Releases, "1") && slices.Contains(s.Releases, "2")
	})
	wantAnswer(t, c, "web", 200, "from v2")

	// A rollback makes no new release: it rolls the kept v1 out again
	// (rollout.Engine.Rollback), so v1 is live again.
	b.press("roll back to release 1", `tr[data-release="1"] button.rollback`)
	b.waitUntil("v1 live again after the rollback", time.Minute, func(s pageState) bool {
		return s.Live == "v1" && s.RolloutState == "done"
	})
	wantAnswer(t, c, "web", 200, "from v1")

	b.press("stop", `[data-action="stop"]`)
	b.waitUntil("app stopped, no instance left", time.Minute, func(s pageState) bool {
		return s.AppState == "stopped" && s.Instances == 0
	})
	wantAnswer(t, c, "web", 503, "maintenance") // the maintenance page

	b.press("start", `[data-action="start"]`)
	b.waitUntil("app running with two instances", time.Minute, func(s pageState) bool {
		return s.AppState == "running" && s.Instances == 2
	})
	wantAnswer(t, c, "web", 200, "from v1")
}

// browser is a tab of a headless Chromium, for one test.
type browser struct {
	t   *testing.T
	ctx context.Context
	log *browserLog // shared by the tabs of one browser
}

// browserLog keeps what helps to read a failure.
type browserLog struct {
	mu      sync.Mutex
	console []string // what the pages logged
	dialogs []string // the JavaScript dialogs they opened, all accepted
}

// newBrowser starts Chromium with a tab; the test's end closes both. Every
// dialog the page opens (such as a confirm before a rollback) is accepted.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is missing: run scripts/deps.sh (make test does)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // as root, and in containers
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancelTimeout := context.WithTimeout(context.Background(), dashboardTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelTimeout()
	})
	b := &browser{t: t, ctx: tab, log: &browserLog{}}
	if err := chromedp.Do(tab); err != nil { // starts the browser
		t.Fatalf("start chromium %s: %v", exe, err)
	}
	b.watch(tab, "")
	return b
}

// watch accepts the dialogs of a tab and keeps what its page logs.
func (b *browser) watch(tab context.Context, label string) {
	dialogs := chromedp.Events(tab, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.log.mu.Lock()
			b.log.dialogs = append(b.log.dialogs, label+string(ev.Type)+": "+ev.Message)
			b.log.mu.Unlock()
			chromedp.Call(tab, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	messages := chromedp.Console(tab)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.log.mu.Lock()
			b.log.console = append(b.log.console, label+m.URL+": "+m.String())
			b.log.mu.Unlock()
		}
	}()
}

// do runs actions on the tab and fails the test with the page's state if
// one fails.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		s, _ := b.state()
		b.fatalf("%s: %v; the page shows %s", what, err, s)
	}
}

func (b *browser) login(token string) {
	b.t.Helper()
	b.do("open the token form", chromedp.Click(chromedp.CSS("#login-view details summary")))
	b.do("log in with the token",
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Click(chromedp.CSS("#login")))
}

// wrongLogin logs in with a bad token in a new tab and checks the page
// shows an error and no app.
func (b *browser) wrongLogin(url, token string) {
	b.t.Helper()
	tab, cancel := chromedp.NewContext(b.ctx)
	defer cancel()
	other := &browser{t: b.t, ctx: tab, log: b.log}
	if err := chromedp.Do(tab); err != nil {
		b.fatalf("open a second tab: %v", err)
	}
	other.watch(tab, "second tab: ")
	other.do("open the dashboard in a second tab", chromedp.Navigate(url))
	other.login(token)
	s := other.waitUntil("an error in #message after a wrong token", 15*time.Second, func(s pageState) bool {
		return s.Message != ""
	})
	if len(s.Apps) != 0 {
		b.t.Errorf("after a wrong token, the app list shows %v; want no app", s.Apps)
	}
	if strings.Contains(s.Whoami, "admin") {
		b.t.Errorf("after a wrong token, #whoami shows %q", s.Whoami)
	}
	b.t.Logf("wrong token: #message %q", s.Message)
}

// deploy uploads a source archive in the deploy form and submits it.
func (b *browser) deploy(archive string) {
	b.t.Helper()
	b.do("choose "+filepath.Base(archive), chromedp.SetUploadFiles(chromedp.CSS("#upload"), []string{archive}))
	b.press("deploy", "#deploy")
}

// press clicks a button and waits for its result in #message.
func (b *browser) press(what, button string) {
	b.t.Helper()
	before, err := b.state()
	if err != nil {
		b.fatalf("read the page before %s: %v", what, err)
	}
	b.do(what, chromedp.Click(chromedp.CSS(button)))
	b.waitUntil("the result of "+what+" in #message", 15*time.Second, func(s pageState) bool {
		return s.Message != "" && s.Message != before.Message
	})
}

func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil {
		b.fatalf("attribute %s of %s: %v", name, sel, err)
	}
	return v.Value
}

// pageState is what the page shows, read in one go. A field of an element
// that is not there is empty.
type pageState struct {
	Hash         string   `json:"hash"`
	Whoami       string   `json:"whoami"`
	Message      string   `json:"message"`
	AppName      string   `json:"appName"`
	AppState     string   `json:"appState"`
	Live         string   `json:"live"`
	RolloutState string   `json:"rolloutState"`
	Events       []string `json:"events"`
	Instances    int      `json:"instances"`
	Releases     []string `json:"releases"`
	Apps         []string `json:"apps"` // the app rows a user sees
}

func (s pageState) String() string {
	b, _ := json.MarshalIndent(s, "", "  ")
	return string(b)
}

const pageStateJS = `(() => {
	const text = sel => { const e = document.querySelector(sel); return e ? e.textContent.trim() : ""; };
	const all = sel => [...document.querySelectorAll(sel)];
	return {
		hash: location.hash,
		whoami: text("#whoami"),
		message: text("#message"),
		appName: text("#app-name"),
		appState: text("#app-state"),
		live: text("#live"),
		rolloutState: text("#rollout-state"),
		events: all("#events li").map(e => e.textContent.trim()),
		instances: all("#instances tr.instance").length,
		releases: all("#releases tr[data-release]").map(e => e.dataset.release),
		apps: all("#apps [data-app]").filter(e => e.checkVisibility()).map(e => e.dataset.app),
	};
})()`

func (b *browser) state() (pageState, error) {
	return chromedp.Run(b.ctx, chromedp.Evaluate[pageState](pageStateJS))
}

// waitUntil polls the page until ok holds, and fails the test with what
// the page last showed if it does not within timeout.
func (b *browser) waitUntil(what string, timeout time.Duration, ok func(pageState) bool) pageState {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	var last pageState
	var err error
	for {
		last, err = b.state()
		if err == nil && ok(last) {
			return last
		}
		if time.Now().After(deadline) || b.ctx.Err() != nil {
			b.fatalf("waited %s for %s; the page shows %s (read error: %v)", timeout, what, last, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *browser) fatalf(format string, args ...any) {
	b.t.Helper()
	if errors.Is(b.ctx.Err(), context.DeadlineExceeded) {
		format = "(the browser's %s ran out) " + format
		args = append([]any{dashboardTimeout}, args...)
	}
	b.logDialogs()
	b.t.Fatalf(format, args...)
}

func (b *browser) logDialogs() {
	b.log.mu.Lock()
	defer b.log.mu.Unlock()
	b.t.Logf("dialogs accepted: %q", b.log.dialogs)
	if len(b.log.console) > 0 {
		b.t.Logf("browser console:\n%s", strings.Join(b.log.console, "\n"))
	}
}

// wantAnswer waits a little for the app to answer through the proxy with
// the status code and a body that holds want.
func wantAnswer(t *testing.T, c *cluster, app string, wantCode int, want string) {
	t.Helper()
	var code int
	var body string
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if code, body, err = c.get(app, "/"); err == nil && code == wantCode && strings.Contains(body, want) {
			return
		}
	}
	t.Fatalf("%s answers %d %q (%v); want %d with %q", app, code, body, err, wantCode, want)
}

// sourceZipFile zips an app's source folder into a file, as a user would
// before uploading it.
func sourceZipFile(t *testing.T, dir string) string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), fmt.Sprintf("source-%d.zip", time.Now().UnixNano()))
	if err := os.WriteFile(name, zipOf(t, files), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// A person logs in with a name and a password: the session is a cookie
// the page never sees, and a change it makes (creating an app) carries the
// session's CSRF token, or the server would refuse it.
func TestDashboard_APasswordLoginIsASessionWhoseChangesCarryItsCSRFToken(t *testing.T) {
	b := newBrowser(t)
	c := newCluster(t)
	ctx := context.Background()
	c.mustRun("teams", "create", "shop")
	if _, err := c.client().CreateUser(ctx, wire.CreateUserRequest{Name: "ann", Teams: []string{"shop"}, Password: "ann's long passphrase"}); err != nil {
		t.Fatal(err)
	}
	b.do("open the dashboard", chromedp.Navigate("http://"+c.api+"/#/"))
	b.do("log in with a password",
		chromedp.SendKeys(chromedp.CSS("#name"), "ann"),
		chromedp.SendKeys(chromedp.CSS("#password"), "ann's long passphrase"),
		chromedp.Click(chromedp.CSS("#login-password")))
	b.waitUntil("whoami to name ann", 15*time.Second, func(s pageState) bool {
		return strings.Contains(s.Whoami, "ann (member)")
	})
	b.do("create app cart",
		chromedp.SendKeys(chromedp.CSS("#new-app-name"), "cart"),
		chromedp.Click(chromedp.CSS("#create-app")))
	b.waitUntil("the app list to have a row for cart", 15*time.Second, func(s pageState) bool {
		return slices.Contains(s.Apps, "cart")
	})
	apps, err := c.client().Apps(ctx)
	if err != nil || len(apps) != 1 || apps[0].Name != "cart" {
		t.Fatalf("apps after ann created one from the dashboard: %+v, %v", apps, err)
	}
	cookies, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil {
		t.Fatalf("read the page's cookies: %v", err)
	}
	if strings.Contains(cookies, "nonstop_session") {
		t.Errorf("the page's script can read the session cookie: %q", cookies)
	}
	b.do("log out", chromedp.Click(chromedp.CSS("#logout")))
	b.waitUntil("the login form again", 15*time.Second, func(s pageState) bool {
		return s.Whoami == "" && len(s.Apps) == 0
	})
}
