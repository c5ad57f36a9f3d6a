package proxy

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestState_RoutesSurviveARestart(t *testing.T) {
	b := startBackend(t, "b", nil)
	file := filepath.Join(t.TempDir(), "proxy-state.json")
	route := Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{b.backend()},
		Health: Health{Path: "/healthz", Interval: time.Second, Timeout: time.Second, HealthyThreshold: 1, UnhealthyThreshold: 3}, MaxBodyBytes: 1 << 20}

	first := newTestProxy(t, Options{StateFile: file})
	setRoute(t, first, route)
	setRoute(t, first, Route{App: "gone", Hosts: []string{"gone.test"}})
	if err := first.DeleteRoute(context.Background(), "gone"); err != nil {
		t.Fatal(err)
	}
	first.Close()

	second := newTestProxy(t, Options{StateFile: file})
	if err := second.Load(); err != nil {
		t.Fatal(err)
	}
	routes, _ := second.Routes(context.Background())
	if !reflect.DeepEqual(routes, []Route{route}) {
		t.Fatalf("loaded %+v, want %+v", routes, route)
	}
	addr, c := serveProxy(t, second)
	if code, body := get(t, c, addr, "app.test", "/"); code != 200 || body != "b" {
		t.Fatalf("after restart: %d %q", code, body)
	}
	entries, _ := os.ReadDir(filepath.Dir(file))
	if len(entries) != 1 {
		t.Fatalf("state folder holds %d files, want only the state file (no temp files)", len(entries))
	}
}

func TestState_MissingFileMeansNoRoutes(t *testing.T) {
	p := newTestProxy(t, Options{StateFile: filepath.Join(t.TempDir(), "none.json")})
	if err := p.Load(); err != nil {
		t.Fatal(err)
	}
	if err := newTestProxy(t, Options{}).Load(); err != nil {
		t.Fatal(err)
	}
}

func TestState_CorruptFileIsAnError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	os.WriteFile(file, []byte("{not json"), 0o600)
	if err := newTestProxy(t, Options{StateFile: file}).Load(); err == nil {
		t.Fatal("want an error")
	}
}

func TestState_SaveFailureLeavesTheRouteLive(t *testing.T) {
	b := startBackend(t, "b", nil)
	file := filepath.Join(t.TempDir(), "missing-dir", "state.json")
	p := newTestProxy(t, Options{StateFile: file})
	err := p.SetRoute(context.Background(), Route{App: "app", Hosts: []string{"app.test"}, Backends: []Backend{b.backend()}})
	if err == nil {
		t.Fatal("want the save error")
	}
	mustContain(t, err.Error(), "live but not saved")
	addr, c := serveProxy(t, p)
	if code, _ := get(t, c, addr, "app.test", "/"); code != 200 {
		t.Fatalf("status %d", code)
	}
}
