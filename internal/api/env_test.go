package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/nonstopdev/nonstop/internal/client"
	"github.com/nonstopdev/nonstop/internal/wire"
)

func TestAPI_EnvListMasksValuesUnlessRevealed(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	s.createApp("hello")
	ro, result, err := s.admin.SetEnv(ctx, "hello", map[string]string{"ZETA": "last", "DATABASE_URL": "postgres://u:pw@db/x", "API_KEY": "s3cret"}, nil)
	if err != nil || ro != nil || result == "" {
		t.Fatalf("env set on a never deployed app: %v %q %v; want 200 with a result", ro, result, err)
	}
	masked, err := s.admin.Env(ctx, "hello", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(masked) != 3 || masked[0].Name != "API_KEY" || masked[1].Name != "DATABASE_URL" || masked[2].Name != "ZETA" {
		t.Fatalf("env list %v, want the three names sorted", masked)
	}
	for _, v := range masked {
		if v.Value == "" || strings.Contains(v.Value, "s3cret") || strings.Contains(v.Value, "pw") || v.Value == "last" {
			t.Errorf("%s shown as %q without reveal", v.Name, v.Value)
		}
	}
	code, body, _ := s.raw("GET", "/api/v1/apps/hello/env", "Bearer "+s.token, nil)
	if code != 200 || strings.Contains(body, "s3cret") || strings.Contains(body, "postgres://") {
		t.Errorf("raw env list leaks values: %d %s", code, body)
	}
	revealed, err := s.admin.Env(ctx, "hello", true)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"API_KEY": "s3cret", "DATABASE_URL": "postgres://u:pw@db/x", "ZETA": "last"}
	for _, v := range revealed {
		if want[v.Name] != v.Value {
			t.Errorf("revealed %s = %q, want %q", v.Name, v.Value, want[v.Name])
		}
	}
	// The app's status does not show them either.
	_, body, _ = s.raw("GET", "/api/v1/apps/hello", "Bearer "+s.token, nil)
	if strings.Contains(body, "s3cret") {
		t.Errorf("app status shows an env value: %s", body)
	}

	for _, bad := range []map[string]string{{"PORT": "1"}, {"1ABC": "x"}, {"A-B": "x"}, {}} {
		if _, _, err := s.admin.SetEnv(ctx, "hello", bad, nil); client.StatusOf(err) != http.StatusBadRequest {
			t.Errorf("env set %v: %v, want 400", bad, err)
		}
	}
	if _, _, err := s.admin.SetEnv(ctx, "hello", nil, []string{"ZETA"}); err != nil {
		t.Fatal(err)
	}
	if left, _ := s.admin.Env(ctx, "hello", true); len(left) != 2 {
		t.Errorf("after unset: %v", left)
	}
}

func TestAPI_EnvSetOnALiveAppRollsOutAndTheAppSeesIt(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	s.createApp("hello")
	s.deployLive("hello", 1)
	ro, _, err := s.admin.SetEnv(ctx, "hello", map[string]string{"GREETING": "salut"}, nil)
	if err != nil || ro == nil {
		t.Fatalf("env set on a live app: %v %v; want 202 with a rollout", ro, err)
	}
	end, err := s.admin.Follow(ctx, "hello", ro.ID, func(wire.Event) {})
	if err != nil || end.State != wire.RolloutDone {
		t.Fatalf("env rollout: %+v %v", end, err)
	}
	if code, body := s.getApp("hello"); code != 200 || !strings.Contains(body, "salut from v1") {
		t.Errorf("GET / = %d %q", code, body)
	}
	// The secret is not in the releases' JSON.
	_, body, _ := s.raw("GET", "/api/v1/apps/hello/releases", "Bearer "+s.token, nil)
	if strings.Contains(body, "salut") {
		t.Errorf("releases list shows an env value set with env set: %s", body)
	}
}

// docs/api.md: 409 when a rollout of the app is in progress. A refused
// request changes nothing: the env list stays as it was.
func TestAPI_EnvSetWhileARolloutRunsIs409AndChangesNothing(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	s.createApp("hello")
	s.deployLive("hello", 1)
	running, err := s.deploy(s.admin, "hello", 2, "STARTUP_DELAY_MS: \"1500\"")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.admin.SetEnv(ctx, "hello", map[string]string{"API_KEY": "s3cret"}, nil)
	if client.StatusOf(err) != http.StatusConflict {
		t.Fatalf("env set during a rollout: %v, want 409", err)
	}
	if end, err := s.admin.Follow(ctx, "hello", running.ID, func(wire.Event) {}); err != nil || end.State != wire.RolloutDone {
		t.Fatalf("deploy: %+v %v", end, err)
	}
	if env, _ := s.admin.Env(ctx, "hello", true); len(env) != 0 {
		t.Errorf("env after a refused env set: %v, want none", env)
	}
	if rels, _ := s.admin.Releases(ctx, "hello"); len(rels) != 2 {
		t.Errorf("%d releases after a refused env set, want 2", len(rels))
	}
}
