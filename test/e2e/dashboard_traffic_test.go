package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nonstopdev/nonstop/internal/loadgen"
)

// rateLog records how many requests a load had sent, moment by moment, to
// tell its rate over any window afterwards.
type rateLog struct {
	mu     sync.Mutex
	at     []time.Time
	sent   []int64
	stop   chan struct{}
	done   chan struct{}
	source *loadgen.Load
}

func recordRate(l *loadgen.Load) *rateLog {
	r := &rateLog{stop: make(chan struct{}), done: make(chan struct{}), source: l}
	go func() {
		defer close(r.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			r.mu.Lock()
			r.at, r.sent = append(r.at, time.Now()), append(r.sent, l.Snapshot().Sent)
			r.mu.Unlock()
			select {
			case <-r.stop:
				return
			case <-t.C:
			}
		}
	}()
	return r
}

func (r *rateLog) end() { close(r.stop); <-r.done }

// rate is the requests per second the load sent in [from, to).
func (r *rateLog) rate(from, to time.Time) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	at := func(t time.Time) int64 {
		for i := range r.at {
			if !r.at[i].Before(t) {
				return r.sent[i]
			}
		}
		return r.sent[len(r.sent)-1]
	}
	return float64(at(to)-at(from)) / to.Sub(from).Seconds()
}

// trafficState is what the app page's traffic card shows.
type trafficState struct {
	RPS      string   `json:"rps"`  // the newest step's requests/s
	T        string   `json:"t"`    // its start, unix seconds
	Step     string   `json:"step"` // its length, seconds
	Canvases int      `json:"canvases"`
	Marks    string   `json:"marks"`
	Verdicts []string `json:"verdicts"` // the canary analyses listed, newest first
	Progress string   `json:"progress"`
	Enabled  []string `json:"enabled"` // the action buttons a user can press
}

const trafficStateJS = `(() => {
	const now = document.querySelector("#traffic-now");
	return {
		rps: now.dataset.rps || "", t: now.dataset.t || "", step: now.dataset.step || "",
		canvases: document.querySelectorAll("#chart-rps canvas, #chart-latency canvas").length,
		marks: document.querySelector("#chart-rps").dataset.marks || "",
		verdicts: [...document.querySelectorAll("#analyses li")].map(e => e.dataset.verdict),
		progress: document.querySelector("#rollout-card").dataset.progress || "",
		enabled: [...document.querySelectorAll("#actions button[data-action]")].filter(b => !b.disabled).map(b => b.dataset.action),
	};
})()`

func (b *browser) traffic() trafficState {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[trafficState](trafficStateJS))
	if err != nil {
		b.fatalf("read the traffic card: %v", err)
	}
	return s
}

// waitTraffic polls the traffic card until ok holds.
func (b *browser) waitTraffic(what string, timeout time.Duration, ok func(trafficState) bool) trafficState {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := b.traffic()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			b.fatalf("waited %s for %s; the traffic card shows %+v", timeout, what, s)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// screenshot saves the page as NAME.png in $NONSTOP_SCREENSHOTS (default:
// a folder of the test's), for docs/dashboard.md.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	dir := os.Getenv("NONSTOP_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "nonstop-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

func enabled(s trafficState, actions ...string) bool {
	for _, a := range actions {
		if !strings.Contains(" "+strings.Join(s.Enabled, " ")+" ", " "+a+" ") {
			return false
		}
	}
	return true
}

// TestDashboard_TrafficChartsFollowARolloutAndMarkABadCanary drives the app
// page in a real Chromium under a bounded load: an app created from a zip,
// a rolling deploy watched to 100 % with the chart's newest point matching
// the load's own rate, a canary held at a manual step (promote and abort
// offered, stop not) and promoted, a bad canary whose failed analysis and
// rollback the page shows, a rollback from the releases list, an env change
// that rolls out a release, and the app's live logs.
func TestDashboard_TrafficChartsFollowARolloutAndMarkABadCanary(t *testing.T) {
	b := newBrowser(t)
	c := newCluster(t)
	b.do("open the dashboard", chromedp.EmulateViewport(1280, 900), chromedp.Navigate("http://"+c.api+"/#/"))
	b.login(c.token)
	b.waitUntil("the app list", 15*time.Second, func(s pageState) bool { return strings.Contains(s.Whoami, "admin") })
	b.screenshot("apps-empty")

	shopSpec := func(version string, extra ...string) string {
		return strings.Replace(helloSpec(version, "30s", extra...), "name: hello", "name: shop", 1)
	}
	b.do("create app shop from a zip",
		chromedp.SendKeys(chromedp.CSS("#new-app-name"), "shop"),
		chromedp.SetUploadFiles(chromedp.CSS("#new-app-zip"), []string{sourceZipFile(t, appSource(t, shopSpec("1")))}),
		chromedp.Click(chromedp.CSS("#create-app")))
	b.waitUntil("shop's page with v1 live", time.Minute, func(s pageState) bool {
		return s.AppName == "shop" && s.Live == "v1" && s.RolloutState == "done"
	})
	if s := b.traffic(); s.Progress != "100" || !enabled(s, "stop", "scale") || enabled(s, "promote") || enabled(s, "abort") || enabled(s, "start") {
		t.Errorf("v1 live and idle: progress %s, enabled %v; want 100, stop and scale, not promote, abort or start", s.Progress, s.Enabled)
	}

	load := loadgen.Start(context.Background(), loadgen.Config{URL: "http://" + c.http, Host: "shop.localhost", Workers: 2, Pause: 10 * time.Millisecond, MaxDuration: 8 * time.Minute})
	defer load.Stop()
	rates := recordRate(load)
	defer rates.end()

	b.deploy(sourceZipFile(t, appSource(t, shopSpec("2"))))
	b.waitUntil("v2 live after a rolling deploy under load", time.Minute, func(s pageState) bool {
		return s.Live == "v2" && s.RolloutState == "done"
	})
	// The chart's newest complete step against what the load sent in it.
	loadStart := time.Now().Add(-time.Second)
	s := b.waitTraffic("a chart point of a whole step under load", 45*time.Second, func(s trafficState) bool {
		t0, _ := strconv.ParseInt(s.T, 10, 64)
		return s.Canvases >= 2 && time.Unix(t0, 0).After(loadStart)
	})
	t0, _ := strconv.ParseInt(s.T, 10, 64)
	step, _ := strconv.Atoi(s.Step)
	chart, _ := strconv.ParseFloat(s.RPS, 64)
	from := time.Unix(t0, 0)
	sent := rates.rate(from, from.Add(time.Duration(step)*time.Second))
	t.Logf("the chart's newest point: %.1f req/s over %ds from %s; the load sent %.1f req/s then", chart, step, from.Format("15:04:05"), sent)
	if sent <= 0 || chart < 0.8*sent || chart > 1.2*sent {
		t.Errorf("the chart shows %.1f req/s where the load sent %.1f: not within 20%%", chart, sent)
	}
	b.screenshot("app-overview")

	// A canary held at a manual step: its own actions are offered, the
	// app's are not, until it is promoted.
	manual := strings.Replace(canarySpec("3", "2s"), "name: hello", "name: shop", 1)
	manual = strings.Replace(manual, "      - weight: 10\n        pause: 2s\n", "      - weight: 25\n        pause: manual\n", 1)
	b.deploy(sourceZipFile(t, appSource(t, manual)))
	b.waitTraffic("a canary at its manual step", time.Minute, func(s trafficState) bool {
		return enabled(s, "promote", "abort") && !enabled(s, "stop") && !enabled(s, "deploy") && !enabled(s, "start")
	})
	b.screenshot("app-canary-step")
	b.press("promote the canary", `[data-action="promote"]`)
	b.waitUntil("v3 live after its promotion", time.Minute, func(s pageState) bool {
		return s.Live == "v3" && s.RolloutState == "done"
	})

	// A canary failing a fifth of its requests: the analysis fails it, the page
	// lists the verdict with its numbers and marks the rollback.
	bad := strings.Replace(canarySpec("4", "30s", `FAIL_PERCENT: "20"`), "name: hello", "name: shop", 1)
	b.deploy(sourceZipFile(t, appSource(t, bad)))
	b.waitUntil("the bad canary rolled back", time.Minute, func(s pageState) bool {
		return s.Live == "v3" && s.RolloutState == "rolled_back"
	})
	s = b.waitTraffic("the failed analysis listed under the chart", 30*time.Second, func(s trafficState) bool {
		return len(s.Verdicts) > 0 && s.Verdicts[0] == "fail" && s.Marks != "" && s.Marks != "0"
	})
	t.Logf("analyses listed: %v; marks on the chart: %s", s.Verdicts, s.Marks)
	b.screenshot("app-bad-canary")

	// Back to v1 from the releases list.
	b.press("roll back to v1", `tr[data-release="1"] button.rollback`)
	b.waitUntil("v1 live again", time.Minute, func(s pageState) bool { return s.Live == "v1" && s.RolloutState == "done" })
	wantAnswer(t, c, "shop", 200, "from v1")

	// An env change is a new release, rolled out.
	b.do("open the env tab", chromedp.Click(chromedp.CSS(`#tabs a[data-tab="env"]`)))
	b.do("set GREETING",
		chromedp.SendKeys(chromedp.CSS("#env-name"), "GREETING"),
		chromedp.SendKeys(chromedp.CSS("#env-value"), "hi from the dashboard"),
		chromedp.Click(chromedp.CSS(`#env-form button[type="submit"]`)))
	b.waitUntil("a new release live after the env change", time.Minute, func(s pageState) bool {
		return s.Live == "v5" && s.RolloutState == "done"
	})
	// The page reloads the env once the rollout that set it is done.
	b.waitText("GREETING in the env table", `#env tr[data-env="GREETING"] td`, 15*time.Second, func(s string) bool {
		return strings.HasPrefix(s, "GREETING|")
	})
	b.screenshot("app-env")

	// The app's own output, followed live.
	b.do("open the logs tab", chromedp.Click(chromedp.CSS(`#tabs a[data-tab="logs"]`)))
	deadline := time.Now().Add(20 * time.Second)
	for {
		lines, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('#logs .line')].map(e => e.textContent).join("\n")`))
		if err == nil && strings.Contains(lines, "listening on") {
			break
		}
		if time.Now().After(deadline) {
			b.fatalf("the logs tab never showed the app's output; it shows %q (%v)", lines, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	b.screenshot("app-logs")

	// Back on the overview once the chart has caught up: the whole story
	// on one time axis, for docs/dashboard.md.
	b.do("open the overview", chromedp.Click(chromedp.CSS(`#tabs a[data-tab="overview"]`)))
	caughtUp := time.Now()
	b.waitTraffic("the chart past the env change", 30*time.Second, func(s trafficState) bool {
		t0, _ := strconv.ParseInt(s.T, 10, 64)
		return time.Unix(t0, 0).After(caughtUp.Add(-10 * time.Second))
	})
	b.screenshot("app-history")

	res := load.Stop()
	t.Logf("load: sent %d, failed %d (the bad canary's own 500s), versions %s", res.Sent, res.Failed, res.VersionList())
	for _, e := range res.Errors {
		if !strings.Contains(e, "injected failure from v4") {
			t.Errorf("a failed request that is not the bad canary's own: %s", e)
		}
	}
}
