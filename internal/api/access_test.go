package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/api"
	"github.com/nonstopdev/nonstop/internal/auth"
	"github.com/nonstopdev/nonstop/internal/store"
)

// rules is who may call each route, written here apart from the API's own
// table: a route the API serves that is not listed here fails the test,
// and so does one that answers otherwise.
var rules = map[string]string{
	"GET /healthz":                               "public",
	"POST /hooks/{forge}/{app}":                  "public",
	"GET /api/v1/build-sources/{app}/{n}":        "public",
	"/git/":                                      "public",
	"GET /{$}":                                   "public",
	"GET /ui/":                                   "public",
	"/api/":                                      "public",
	"GET /metrics":                               "admin",
	"GET /api/v1/whoami":                         "anyone",
	"POST /api/v1/login":                         "public",
	"POST /api/v1/logout":                        "anyone",
	"GET /api/v1/audit":                          "anyone",
	"GET /api/v1/users":                          "admin",
	"POST /api/v1/users":                         "admin",
	"DELETE /api/v1/users/{user}":                "admin",
	"PUT /api/v1/users/{user}/password":          "self", // {user} is nobody: admins only
	"GET /api/v1/teams":                          "anyone",
	"POST /api/v1/teams":                         "admin",
	"POST /api/v1/teams/{team}/members":          "admin",
	"DELETE /api/v1/teams/{team}/members/{user}": "admin",
	"GET /api/v1/tokens":                         "anyone",
	"POST /api/v1/tokens":                        "anyone",
	"DELETE /api/v1/tokens/{id}":                 "anyone",
	"POST /api/v1/apps":                          "acts",
	"GET /api/v1/apps":                           "anyone",
	"GET /api/v1/apps/{app}":                     "reads",
	"DELETE /api/v1/apps/{app}":                  "changes",
	"POST /api/v1/apps/{app}/deploys":            "changes",
	"GET /api/v1/apps/{app}/deploys":             "reads",
	"GET /api/v1/apps/{app}/deploys/{id}":        "reads",
	"GET /api/v1/apps/{app}/deploys/{id}/events": "reads",
	"GET /api/v1/apps/{app}/releases":            "reads",
	"GET /api/v1/apps/{app}/instances":           "reads",
	"GET /api/v1/apps/{app}/logs":                "reads",
	"POST /api/v1/apps/{app}/rollback":           "changes",
	"POST /api/v1/apps/{app}/scale":              "changes",
	"POST /api/v1/apps/{app}/stop":               "changes",
	"POST /api/v1/apps/{app}/start":              "changes",
	"POST /api/v1/apps/{app}/hold":               "changes",
	"POST /api/v1/apps/{app}/unhold":             "changes",
	"GET /api/v1/apps/{app}/env":                 "reads",
	"GET /api/v1/apps/{app}/metrics":             "reads",
	"POST /api/v1/apps/{app}/env":                "changes",
	"POST /api/v1/apps/{app}/promote":            "changes",
	"POST /api/v1/apps/{app}/pause":              "changes",
	"POST /api/v1/apps/{app}/resume":             "changes",
	"POST /api/v1/apps/{app}/abort":              "changes",
	"PATCH /api/v1/apps/{app}":                   "changes",
	"GET /api/v1/apps/{app}/webhook":             "changes", // it shows the webhook secret
	"GET /api/v1/apps/{app}/runs":                "reads",
	"GET /api/v1/apps/{app}/runs/{n}":            "reads",
	"GET /api/v1/apps/{app}/runs/{n}/logs":       "reads",
	"POST /api/v1/apps/{app}/runs/{n}/cancel":    "changes",
}

// Two teams (a, b), three users (the admin, ann a member of a, vic a
// viewer of a), an app of each team: every route the API registers is
// called by each user on each app, and answers as the user's role allows.
// A route registered without a rule the test knows fails it.
func TestAccess_EveryRouteAnswersAsTheRoleAllows(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	teams := map[string]int64{}
	for _, name := range []string{"a", "b"} {
		team, err := s.st.CreateTeam(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		teams[name] = team.ID
	}
	tokens := map[string]string{"admin": s.token}
	for name, role := range map[string]store.Role{"ann": store.RoleMember, "vic": store.RoleViewer} {
		u, err := s.st.AddUser(ctx, name, role, []string{"a"})
		if err != nil {
			t.Fatal(err)
		}
		tokens[name] = auth.NewToken()
		if _, err := s.st.CreateToken(ctx, u.ID, name, auth.Hash(tokens[name]), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	appTeam := map[string]string{"app-a": "a", "app-b": "b"}
	createApp := func(name string) {
		if _, err := s.st.CreateApp(ctx, name, teams[appTeam[name]], nil); err != nil {
			t.Fatal(err)
		}
	}
	for app := range appTeam {
		createApp(app)
	}

	// allowed says whether user may call a route of this rule on app (or,
	// routes without an app: app "").
	allowed := func(user, rule, app string) bool {
		ownTeam := app == "" || appTeam[app] == "a"
		switch rule {
		case "anyone":
			return true
		case "admin", "self":
			return user == "admin"
		case "acts":
			return user != "vic"
		case "reads":
			return user == "admin" || ownTeam
		case "changes":
			return user == "admin" || user == "ann" && ownTeam
		}
		t.Fatalf("rule %q is not one this test knows", rule)
		return false
	}
	fill := strings.NewReplacer("{id}", "999999", "{n}", "999999", "{user}", "nobody", "{team}", "a")

	tried := 0
	served := map[string]bool{}
	for _, route := range s.handler.Routes() {
		served[route.Pattern] = true
		rule, ok := rules[route.Pattern]
		switch {
		case !ok:
			t.Errorf("route %q (%s) has no rule in this test: say who may call it", route.Pattern, route.Access)
			continue
		case (rule == "public") != (route.Access == api.Public):
			t.Errorf("route %q is %s in the API, %s in this test", route.Pattern, route.Access, rule)
			continue
		case rule == "public":
			continue // each checks its own credentials: tested where it is served
		}
		method, path, ok := strings.Cut(route.Pattern, " ")
		if !ok {
			t.Errorf("route %q has no method", route.Pattern)
			continue
		}
		apps := []string{""}
		if strings.Contains(path, "{app}") {
			apps = []string{"app-a", "app-b"}
		}
		for _, app := range apps {
			for _, user := range []string{"admin", "ann", "vic"} {
				url := fill.Replace(strings.ReplaceAll(path, "{app}", app))
				code, body, _ := s.raw(method, url, "Bearer "+tokens[user], strings.NewReader("{}"))
				tried++
				hidden := code == http.StatusNotFound && app != "" && strings.Contains(body, fmt.Sprintf(`app \"%s\" does not exist`, app))
				refused := code == http.StatusUnauthorized || code == http.StatusForbidden || hidden
				want := allowed(user, rule, app)
				switch {
				case want && refused:
					t.Errorf("%s %s as %s: %d %s, want it allowed (%s)", method, url, user, code, body, rule)
				case !want && !refused:
					t.Errorf("%s %s as %s: %d %s, want it refused (%s)", method, url, user, code, body, rule)
				case !want && user == "vic" && app != "app-b" && code != http.StatusForbidden:
					t.Errorf("%s %s as the viewer: %d %s, want 403", method, url, code, body)
				case !want && app == "app-b" && !hidden:
					t.Errorf("%s %s as %s: %d %s, want another team's app not found", method, url, user, code, body)
				}
				if method == http.MethodDelete && path == "/api/v1/apps/{app}" && code == http.StatusOK {
					createApp(app) // for the routes that follow
				}
			}
		}
	}
	for pattern := range rules {
		if !served[pattern] && pattern != "GET /metrics" && pattern != "/git/" { // served when metrics, git are on
			t.Errorf("route %q has a rule here but the API does not serve it", pattern)
		}
	}
	if tried < 100 {
		t.Errorf("only %d calls tried: the route table is not what this test expects", tried)
	}
}
