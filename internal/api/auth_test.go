package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/nonstopdev/nonstop/internal/client"
)

func TestAPI_RequestsWithoutAValidTokenAre401(t *testing.T) {
	s := newServer(t)
	s.createApp("alpha")
	for _, authz := range []string{"", "Bearer", "Bearer ", "Basic " + s.token, "bearer " + s.token, "Bearer wrong-token", "Bearer " + s.token + "x"} {
		for _, path := range []string{"/api/v1/apps", "/api/v1/apps/alpha", "/api/v1/whoami"} {
			code, body, h := s.raw("GET", path, authz, nil)
			if code != http.StatusUnauthorized {
				t.Errorf("GET %s with Authorization %q: %d %s, want 401", path, authz, code, body)
				continue
			}
			var e struct{ Error string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
				t.Errorf("401 body %q is not {\"error\": ...}", body)
			}
			if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a WWW-Authenticate: Bearer header: %q", h.Get("WWW-Authenticate"))
			}
		}
	}
	// Writes are refused too, and change nothing.
	code, _, _ := s.raw("DELETE", "/api/v1/apps/alpha", "Bearer wrong-token", nil)
	if code != http.StatusUnauthorized {
		t.Errorf("DELETE with a wrong token: %d", code)
	}
	if _, err := s.admin.Status(context.Background(), "alpha"); err != nil {
		t.Errorf("app gone after an unauthorised delete: %v", err)
	}
	bad := client.New(s.api.URL, "wrong")
	if _, err := bad.Apps(context.Background()); client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("client with a wrong token: %v", err)
	}
	// The health check needs no token.
	if code, body, _ := s.raw("GET", "/healthz", "", nil); code != http.StatusOK {
		t.Errorf("GET /healthz = %d %s", code, body)
	}
	who, err := s.admin.Whoami(context.Background())
	if err != nil || who.Name != "admin" || who.Role != "admin" {
		t.Errorf("whoami = %v %v", who, err)
	}
}

func TestAPI_AppOfAnotherTeamIsNotFoundLikeAnUnknownApp(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	s.createApp("alpha")
	mia := s.member("mia", "payments")

	_, errOther := mia.Status(ctx, "alpha")
	_, errGhost := mia.Status(ctx, "ghost")
	if client.StatusOf(errOther) != http.StatusNotFound || client.StatusOf(errGhost) != http.StatusNotFound {
		t.Fatalf("status of another team's app: %v; of an unknown app: %v; want 404 both", errOther, errGhost)
	}
	// The answers differ only by the name asked for: nothing tells that alpha exists.
	if strings.ReplaceAll(errOther.Error(), "alpha", "X") != strings.ReplaceAll(errGhost.Error(), "ghost", "X") {
		t.Errorf("404 messages differ: %q vs %q", errOther, errGhost)
	}

	checks := map[string]func() error{
		"releases":  func() error { _, err := mia.Releases(ctx, "alpha"); return err },
		"instances": func() error { _, err := mia.Instances(ctx, "alpha"); return err },
		"rollouts":  func() error { _, err := mia.Rollouts(ctx, "alpha"); return err },
		"env":       func() error { _, err := mia.Env(ctx, "alpha", true); return err },
		"set env": func() error {
			_, _, err := mia.SetEnv(ctx, "alpha", map[string]string{"X": "1"}, nil)
			return err
		},
		"scale":  func() error { _, _, err := mia.Scale(ctx, "alpha", 2); return err },
		"stop":   func() error { _, err := mia.Stop(ctx, "alpha"); return err },
		"deploy": func() error { _, err := s.deploy(mia, "alpha", 1); return err },
		"delete": func() error { return mia.DeleteApp(ctx, "alpha") },
	}
	for name, call := range checks {
		if err := call(); client.StatusOf(err) != http.StatusNotFound {
			t.Errorf("%s on another team's app: %v, want 404", name, err)
		}
	}
	st, err := s.admin.Status(ctx, "alpha")
	if err != nil {
		t.Fatalf("alpha after the member's attempts: %v", err)
	}
	if st.State != "new" || st.Rollout != nil {
		t.Errorf("the member's attempts changed alpha: state %s rollout %v", st.State, st.Rollout)
	}
	if env, _ := s.admin.Env(ctx, "alpha", true); len(env) != 0 {
		t.Errorf("the member's env change applied: %v", env)
	}

	// Each sees its own; the admin sees all.
	if _, err := mia.CreateApp(ctx, "beta", nil); err != nil {
		t.Fatal(err)
	}
	names := func(c *client.Client) []string {
		apps, err := c.Apps(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range apps {
			out = append(out, a.Name)
		}
		return out
	}
	if got := names(mia); !slices.Equal(got, []string{"beta"}) {
		t.Errorf("member lists %v, want [beta]", got)
	}
	if got := names(s.admin); !slices.Equal(got, []string{"alpha", "beta"}) {
		t.Errorf("admin lists %v, want [alpha beta]", got)
	}
	if _, err := s.admin.Status(ctx, "beta"); err != nil {
		t.Errorf("admin cannot see the member's app: %v", err)
	}
	bob := s.member("bob", "payments")
	if _, err := bob.Status(ctx, "beta"); err != nil {
		t.Errorf("a member of the same team cannot see its app: %v", err)
	}
}

func TestAPI_UnknownRouteIs404JSON(t *testing.T) {
	s := newServer(t)
	code, body, _ := s.raw("GET", "/api/v1/nothing-here", "Bearer "+s.token, nil)
	var e struct{ Error string }
	if code != http.StatusNotFound || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
		t.Errorf("unknown route: %d %s", code, body)
	}
}
