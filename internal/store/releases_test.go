package store_test

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

func release(t *testing.T, st *store.Store, app *store.App, build int) *store.Release {
	t.Helper()
	r, err := st.CreateRelease(context.Background(), app.ID, build, "/data/builds/src", spec.Spec{Run: "./app", Instances: 2}, map[string]string{"K": "v"}, "build")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func statuses(t *testing.T, st *store.Store, app *store.App) map[int]store.ReleaseStatus {
	t.Helper()
	rels, err := st.Releases(context.Background(), app.ID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]store.ReleaseStatus{}
	prev := 1 << 30
	for _, r := range rels {
		if r.Version >= prev {
			t.Errorf("Releases not newest first: v%d after v%d", r.Version, prev)
		}
		prev = r.Version
		out[r.Version] = r.Status
	}
	return out
}

func TestCreateRelease_VersionsIncreasePerApp(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	a, b := newApp(t, st, "a"), newApp(t, st, "b")
	for want := 1; want <= 3; want++ {
		if r := release(t, st, a, want); r.Version != want {
			t.Errorf("app a release #%d got version v%d", want, r.Version)
		}
	}
	if r := release(t, st, b, 1); r.Version != 1 {
		t.Errorf("the first release of another app is v%d, want v1", r.Version)
	}

	sp := spec.Spec{Name: "a", Run: "./app --flag", Instances: 3, Env: map[string]string{"GREETING": "hi"}}
	sp.Health.Path = "/healthz"
	sp.Health.Interval = 250 * time.Millisecond
	env := map[string]string{"GREETING": "hi", "SECRET": "s3cret"}
	r, err := st.CreateRelease(ctx, a.ID, 7, "/data/apps/a/builds/7/src", sp, env, "build #7 (upload)")
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.Release(ctx, a.ID, r.Version)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 4 || got.Build != 7 || got.Dir != "/data/apps/a/builds/7/src" || got.Description != "build #7 (upload)" || got.Status != store.ReleasePending {
		t.Errorf("release = %+v", got)
	}
	if got.Spec.Run != sp.Run || got.Spec.Instances != 3 || got.Spec.Health.Interval != sp.Health.Interval || !maps.Equal(got.Spec.Env, sp.Env) {
		t.Errorf("spec did not round-trip: %+v", got.Spec)
	}
	if !maps.Equal(got.Env, env) {
		t.Errorf("env %v, want %v", got.Env, env)
	}
	if _, err := st.Release(ctx, a.ID, 99); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown version: %v", err)
	}
	if _, err := st.Release(ctx, b.ID, 2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("app b has no v2: %v", err)
	}
}

func TestMakeLive_RetiresThePreviousLiveAndRunsTheApp(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	app := newApp(t, st, "shop")
	other := newApp(t, st, "other")
	for i := 1; i <= 3; i++ {
		release(t, st, app, i)
	}
	release(t, st, other, 1)
	if err := st.MakeLive(ctx, other.ID, 1); err != nil {
		t.Fatal(err)
	}

	if err := st.MakeLive(ctx, app.ID, 1); err != nil {
		t.Fatal(err)
	}
	got, _ := st.App(ctx, "shop")
	if got.LiveRelease != 1 || got.State != store.AppRunning {
		t.Errorf("after v1 live: live=%d state=%s", got.LiveRelease, got.State)
	}
	if s := statuses(t, st, app); s[1] != store.ReleaseLive || s[2] != store.ReleasePending || s[3] != store.ReleasePending {
		t.Errorf("after v1 live: %v", s)
	}

	if err := st.SetReleaseStatus(ctx, app.ID, 2, store.ReleaseFailed); err != nil {
		t.Fatal(err)
	}
	if err := st.MakeLive(ctx, app.ID, 3); err != nil {
		t.Fatal(err)
	}
	if s := statuses(t, st, app); s[1] != store.ReleaseRetired || s[2] != store.ReleaseFailed || s[3] != store.ReleaseLive {
		t.Errorf("after v3 live: %v, want v1 retired, v2 still failed, v3 live", s)
	}

	// A rollback makes an older release live again.
	if err := st.MakeLive(ctx, app.ID, 1); err != nil {
		t.Fatal(err)
	}
	if s := statuses(t, st, app); s[1] != store.ReleaseLive || s[3] != store.ReleaseRetired {
		t.Errorf("after rolling back to v1: %v", s)
	}
	got, _ = st.App(ctx, "shop")
	if got.LiveRelease != 1 {
		t.Errorf("live release %d, want 1", got.LiveRelease)
	}
	// Making the live release live again changes nothing.
	if err := st.MakeLive(ctx, app.ID, 1); err != nil {
		t.Fatal(err)
	}
	if s := statuses(t, st, app); s[1] != store.ReleaseLive {
		t.Errorf("making v1 live twice: %v", s)
	}
	// Another app's releases are untouched.
	if s := statuses(t, st, other); s[1] != store.ReleaseLive {
		t.Errorf("other app's release: %v", s)
	}
}

func TestBuilds_AreNumberedPerApp(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	a, b := newApp(t, st, "a"), newApp(t, st, "b")
	for want := 1; want <= 3; want++ {
		n, err := st.NextBuildNumber(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Fatalf("next build number %d, want %d", n, want)
		}
		bd, err := st.CreateBuild(ctx, a.ID, n, "upload", "/src")
		if err != nil {
			t.Fatal(err)
		}
		if bd.Number != n || bd.Status != store.BuildRunning {
			t.Errorf("build = %+v", bd)
		}
		if err := st.FinishBuild(ctx, bd.ID, store.BuildSucceeded, ""); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := st.NextBuildNumber(ctx, b.ID); n != 1 {
		t.Errorf("another app's first build is #%d", n)
	}
	if _, err := st.CreateBuild(ctx, a.ID, 2, "upload", "/src"); err == nil {
		t.Error("a second build #2 of the same app was recorded")
	}
	if err := st.FailRunningBuilds(ctx, "restart"); err != nil {
		t.Fatal(err)
	}
}

func TestNewestRelease_IsTheHighestVersionOfThatApp(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	a, b := newApp(t, st, "a"), newApp(t, st, "b")
	if _, err := st.NewestRelease(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an app without releases: %v, want ErrNotFound", err)
	}
	for build := 1; build <= 3; build++ {
		release(t, st, a, build)
	}
	release(t, st, b, 1)
	if got, err := st.NewestRelease(ctx, a.ID); err != nil || got.Version != 3 || got.Spec.Run != "./app" {
		t.Errorf("newest of a = %+v, %v; want v3", got, err)
	}
}
