package e2e

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/nonstopdev/nonstop/internal/rollout"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/web"
)

// pageButtons are the app page's action buttons, by data-action.
var pageButtons = []string{"promote", "pause", "resume", "abort", "stop", "start", "scale", "deploy", "env", "settings"}

// renderActionsJS renders an app status on a fresh app page object, as a
// user of a role would see it, and returns the buttons they can press.
const renderActionsJS = `(async () => {
	const { AppView } = await import("/ui/js/appview.js");
	const { auth } = await import("/ui/js/api.js");
	auth.me = { name: "someone", role: %q };
	new AppView("shop").renderActions(%s);
	return [...document.querySelectorAll("#app-view [data-action]")].filter(b => !b.disabled).map(b => b.dataset.action);
})()`

// Every button of the app page, for every rollout state of every strategy,
// app state and role: enabled exactly when the action applies (the API's
// actions, from rollout.Actions) and the user may act.
func TestDashboard_EachButtonIsEnabledExactlyWhenItsActionApplies(t *testing.T) {
	b := newBrowser(t)
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	b.do("open the dashboard", chromedp.Navigate(srv.URL+"/"))

	apps := map[string]*store.App{
		"new":     {Name: "shop", State: store.AppNew},
		"running": {Name: "shop", State: store.AppRunning, LiveRelease: 3},
		"stopped": {Name: "shop", State: store.AppStopped, LiveRelease: 3},
	}
	strategies := map[string][2]bool{"rolling": {false, false}, "canary": {true, true}, "blue-green": {true, false}}
	states := append([]store.RolloutState{""}, store.RolloutStates...) // "": no rollout yet
	cases := 0
	for appState, app := range apps {
		for name, kind := range strategies {
			for _, state := range states {
				for _, older := range []bool{false, true} {
					for _, role := range []string{"member", "viewer"} {
						var last *store.Rollout
						if state != "" {
							last = &store.Rollout{ID: 7, State: state, Strategy: name}
						}
						actions := []string{}
						if role != "viewer" { // what the API answers a viewer
							actions = rollout.Actions(app, last, kind[0], kind[1], older)
						}
						var want []string
						for _, btn := range pageButtons {
							if btn == "settings" && role != "viewer" || slices.Contains(actions, btn) {
								want = append(want, btn)
							}
						}
						st := map[string]any{"actions": actions}
						if last != nil {
							st["rollout"] = map[string]any{"id": last.ID, "state": string(last.State)}
						}
						js, _ := json.Marshal(st)
						got, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](fmt.Sprintf(renderActionsJS, role, js), chromedp.EvalAwaitPromise))
						if err != nil {
							b.fatalf("render the actions of %s: %v", js, err)
						}
						what := fmt.Sprintf("%s app, %s rollout %q, older release %v, %s", appState, name, state, older, role)
						if strings.Join(got, " ") != strings.Join(want, " ") {
							t.Errorf("%s: enabled %v, want %v", what, got, want)
						}
						cases++
					}
				}
			}
		}
	}
	t.Logf("%d combinations of app state, strategy, rollout state, rollback target and role checked", cases)
}
