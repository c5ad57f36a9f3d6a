package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/nonstopdev/nonstop/internal/client"
	"github.com/nonstopdev/nonstop/internal/wire"
)

func TestAPI_CreateAppValidatesNameAndDomains(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	app, err := s.admin.CreateApp(ctx, "shop", []string{" Shop.Example.COM "})
	if err != nil {
		t.Fatal(err)
	}
	if app.Name != "shop" || !slices.Equal(app.Domains, []string{"shop.example.com"}) || app.State != "new" {
		t.Errorf("created %+v; want domains lower-cased and trimmed", app)
	}
	if !slices.Contains(app.URLs, "http://shop.localhost"+s.apps.URL[strings.LastIndex(s.apps.URL, ":"):]+"/") {
		t.Errorf("urls %v should name the app's host on the proxy's port", app.URLs)
	}
	cases := []struct {
		name    string
		domains []string
		status  int
	}{
		{"Bad_Name", nil, http.StatusBadRequest},
		{"", nil, http.StatusBadRequest},
		{"ok-name", []string{"not a host"}, http.StatusBadRequest},
		{"ok-name", []string{"http://x.example.com"}, http.StatusBadRequest},
		{"shop", nil, http.StatusConflict},
		{"copy", []string{"shop.example.com"}, http.StatusConflict},
	}
	for _, c := range cases {
		_, err := s.admin.CreateApp(ctx, c.name, c.domains)
		if client.StatusOf(err) != c.status {
			t.Errorf("create %q %v: %v, want %d", c.name, c.domains, err, c.status)
		}
	}
	apps, _ := s.admin.Apps(ctx)
	if len(apps) != 1 {
		t.Errorf("refused creates recorded apps: %v", apps)
	}
	code, body, _ := s.raw("POST", "/api/v1/apps", "Bearer "+s.token, strings.NewReader(`{"name": "x", "owner": "me"}`))
	if code != http.StatusBadRequest {
		t.Errorf("unknown field in the body: %d %s", code, body)
	}
}

func TestAPI_StatusShowsLiveReleaseInstancesAndURLs(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	s.createApp("hello")
	end := s.deployLive("hello", 1)

	st, err := s.admin.Status(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if st.LiveRelease != 1 || st.State != "running" || st.Live == nil || st.Live.Version != 1 || st.Rollout == nil || st.Rollout.ID != end.ID {
		t.Errorf("status = %+v", st)
	}
	if len(st.Instances) != 1 {
		t.Fatalf("instances %v", st.Instances)
	}
	in := st.Instances[0]
	if in.State != "serving" || in.Runtime == nil || in.Runtime.State != "running" || in.Proxy == nil || !in.Proxy.Healthy {
		t.Errorf("instance = %+v runtime %+v proxy %+v", in, in.Runtime, in.Proxy)
	}
	rels, err := s.admin.Releases(ctx, "hello")
	if err != nil || len(rels) != 1 || rels[0].Version != 1 || rels[0].Status != "live" {
		t.Errorf("releases %v %v", rels, err)
	}
	if code, body := s.getApp("hello"); code != 200 || !strings.Contains(body, "hello from v1") {
		t.Errorf("app through the proxy: %d %q", code, body)
	}
}

func TestAPI_DeleteAppStopsItAndForgetsIt(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	s.createApp("hello")
	s.deployLive("hello", 1)
	if err := s.admin.DeleteApp(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.admin.Status(ctx, "hello"); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("deleted app: %v, want 404", err)
	}
	if code, _ := s.getApp("hello"); code != http.StatusNotFound {
		t.Errorf("deleted app through the proxy: %d, want 404", code)
	}
	list, _ := s.rt.List(ctx)
	for _, in := range list {
		if st, err := s.rt.Status(ctx, in.ID); err == nil && st.State == "running" {
			t.Errorf("instance %s of the deleted app still runs", in.ID)
		}
	}
}

func TestAPI_ActionsAnswerWithTheRightStatus(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	s.createApp("hello")

	ro, result, err := s.admin.Scale(ctx, "hello", 2)
	if err != nil || ro != nil || result == "" {
		t.Errorf("scale of a never deployed app: rollout %v result %q err %v; want 200 with a result", ro, result, err)
	}
	if _, err := s.admin.Start(ctx, "hello"); client.StatusOf(err) != http.StatusBadRequest {
		t.Errorf("start of a never deployed app: %v, want 400", err)
	}
	if _, err := s.admin.Rollback(ctx, "hello", ""); client.StatusOf(err) != http.StatusBadRequest {
		t.Errorf("rollback of a never deployed app: %v, want 400", err)
	}
	if _, err := s.admin.Rollback(ctx, "hello", "latest"); client.StatusOf(err) != http.StatusBadRequest {
		t.Errorf("rollback to \"latest\": %v, want 400", err)
	}
	if _, _, err := s.admin.Scale(ctx, "hello", 0); client.StatusOf(err) != http.StatusBadRequest {
		t.Errorf("scale to 0: %v, want 400", err)
	}

	s.deployLive("hello", 1)
	if got, _ := s.admin.Instances(ctx, "hello"); len(got) != 2 {
		t.Errorf("the scale before the first deploy did not apply: %d instances", len(got))
	}
	s.deployLive("hello", 2)
	rb, err := s.admin.Rollback(ctx, "hello", "v1")
	if err != nil || rb.ToRelease != 1 {
		t.Fatalf("rollback to v1: %+v %v", rb, err)
	}
	end, err := s.admin.Follow(ctx, "hello", rb.ID, func(wire.Event) {})
	if err != nil || end.State != "done" {
		t.Fatalf("rollback ended %+v %v", end, err)
	}
	if code, body := s.getApp("hello"); code != 200 || !strings.Contains(body, "from v1") {
		t.Errorf("after rollback: %d %q", code, body)
	}
	stop, err := s.admin.Stop(ctx, "hello")
	if err != nil || stop == nil {
		t.Fatalf("stop: %v %v", stop, err)
	}
	if end, err := s.admin.Follow(ctx, "hello", stop.ID, func(wire.Event) {}); err != nil || end.State != "done" {
		t.Fatalf("stop ended %+v %v", end, err)
	}
	if code, body := s.getApp("hello"); code != http.StatusServiceUnavailable || !strings.Contains(body, "maintenance") {
		t.Errorf("stopped app: %d %q", code, body)
	}
	if _, err := s.admin.Stop(ctx, "hello"); client.StatusOf(err) != http.StatusBadRequest {
		t.Errorf("stop of a stopped app: %v, want 400", err)
	}
	start, err := s.admin.Start(ctx, "hello")
	if err != nil || start == nil {
		t.Fatalf("start: %v %v", start, err)
	}
	if end, err := s.admin.Follow(ctx, "hello", start.ID, func(wire.Event) {}); err != nil || end.State != "done" {
		t.Fatalf("start ended %+v %v", end, err)
	}
	if code, _ := s.getApp("hello"); code != 200 {
		t.Errorf("started app: %d", code)
	}
}

// `nonstop apps create x` then `nonstop apps delete x`: the most ordinary
// mistake to undo. An app never deployed has no route in the proxy.
func TestAPI_DeleteOfANeverDeployedAppSucceeds(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	s.createApp("typo")
	if err := s.admin.DeleteApp(ctx, "typo"); err != nil {
		t.Fatalf("delete of a new app: %v (status %d)", err, client.StatusOf(err))
	}
	if _, err := s.admin.Status(ctx, "typo"); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("deleted app: %v, want 404", err)
	}
}

func TestAPI_LogsShowEachInstancesOutput(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	s.createApp("hello")
	s.deployLive("hello", 1)
	ins, err := s.admin.Instances(ctx, "hello")
	if err != nil || len(ins) != 1 {
		t.Fatalf("instances %v %v", ins, err)
	}
	var out strings.Builder
	if err := s.admin.Logs(ctx, "hello", 10, false, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "["+ins[0].ID+"] ") || !strings.Contains(out.String(), "v1 listening on") {
		t.Errorf("logs = %q, want the instance's lines prefixed with its id", out.String())
	}
	if code, _, _ := s.raw("GET", "/api/v1/apps/hello/logs?tail=lots", "Bearer "+s.token, nil); code != http.StatusBadRequest {
		t.Errorf("tail=lots: %d, want 400", code)
	}
	if code, _, _ := s.raw("GET", "/api/v1/apps/hello/logs?instance=nope", "Bearer "+s.token, nil); code != http.StatusNotFound {
		t.Errorf("logs of an unknown instance: %d, want 404", code)
	}
}
