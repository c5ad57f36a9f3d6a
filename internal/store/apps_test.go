package store_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

func TestCreateApp_StartsNewWithNoReleaseAndItsDomains(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	team := defaultTeam(t, st)
	app, err := st.CreateApp(ctx, "shop", team, []string{"shop.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if app.ID == 0 || app.Name != "shop" || app.TeamID != team || app.State != store.AppNew || app.LiveRelease != 0 || app.Instances != 0 {
		t.Errorf("new app = %+v", app)
	}
	if !slices.Equal(app.Domains, []string{"shop.example.com"}) {
		t.Errorf("domains %v", app.Domains)
	}
	if app.CreatedAt.IsZero() {
		t.Error("created_at not recorded")
	}
	bare, err := st.CreateApp(ctx, "bare", team, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bare.Domains == nil || len(bare.Domains) != 0 {
		t.Errorf("app created without domains has Domains %#v, want an empty list", bare.Domains)
	}
	byID, err := st.AppByID(ctx, app.ID)
	if err != nil || byID.Name != "shop" {
		t.Errorf("AppByID: %+v %v", byID, err)
	}
	apps, err := st.Apps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range apps {
		names = append(names, a.Name)
	}
	if !slices.Equal(names, []string{"bare", "shop"}) {
		t.Errorf("Apps = %v, want by name", names)
	}
}

func TestCreateApp_DuplicateNameIsConflict(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	app := newApp(t, st, "shop")
	_, err := st.CreateApp(ctx, "shop", app.TeamID, nil)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("err %v, want ErrConflict", err)
	}
	if !strings.Contains(err.Error(), "shop") {
		t.Errorf("error %q should name the app", err)
	}
}

func TestCreateApp_DomainOfAnotherAppIsConflictWhateverItsCase(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	shop := newApp(t, st, "shop", "shop.example.com")
	_, err := st.CreateApp(ctx, "copycat", shop.TeamID, []string{"Shop.Example.COM"})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("err %v, want ErrConflict", err)
	}
	if !strings.Contains(err.Error(), "shop") {
		t.Errorf("error %q should name the app that serves the domain", err)
	}
	if _, err := st.App(ctx, "copycat"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused app was recorded: %v", err)
	}
}

func TestSetAppDomains_RefusesAnotherAppsDomainAndKeepsItsOwn(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	newApp(t, st, "shop", "shop.example.com")
	blog := newApp(t, st, "blog", "blog.example.com")
	if err := st.SetAppDomains(ctx, "blog", []string{"blog.example.com", "shop.example.com"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("err %v, want ErrConflict", err)
	}
	got, _ := st.App(ctx, "blog")
	if !slices.Equal(got.Domains, blog.Domains) {
		t.Errorf("refused change applied: %v", got.Domains)
	}
	if err := st.SetAppDomains(ctx, "blog", []string{"blog.example.com", "www.blog.example.com"}); err != nil {
		t.Fatalf("an app may keep its own domain and add a free one: %v", err)
	}
	got, _ = st.App(ctx, "blog")
	if !slices.Equal(got.Domains, []string{"blog.example.com", "www.blog.example.com"}) {
		t.Errorf("domains %v", got.Domains)
	}
}

func TestCreateApp_UnknownTeamIsRefused(t *testing.T) {
	st := openMemory(t)
	defaultTeam(t, st)
	if _, err := st.CreateApp(context.Background(), "orphan", 424242, nil); err == nil {
		t.Error("an app of a team that does not exist was created (are foreign keys enforced?)")
	}
}

func TestApp_UnknownIsNotFound(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	if _, err := st.App(ctx, "ghost"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("App: %v", err)
	}
	if _, err := st.AppByID(ctx, 99); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AppByID: %v", err)
	}
	if err := st.DeleteApp(ctx, "ghost"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteApp: %v", err)
	}
}

func TestSetAppStateInstancesAndEnv_AreRecorded(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	app := newApp(t, st, "shop")
	env := map[string]string{"DATABASE_URL": "postgres://x", "EMPTY": ""}
	if err := st.SetAppState(ctx, app.ID, store.AppStopped); err != nil {
		t.Fatal(err)
	}
	if err := st.SetAppInstances(ctx, app.ID, 4); err != nil {
		t.Fatal(err)
	}
	if err := st.SetAppEnv(ctx, app.ID, env); err != nil {
		t.Fatal(err)
	}
	got, err := st.App(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.AppStopped || got.Instances != 4 || !maps.Equal(got.Env, env) {
		t.Errorf("app = %+v", got)
	}
	if err := st.SetAppEnv(ctx, app.ID, nil); err != nil {
		t.Fatal(err)
	}
	got, _ = st.App(ctx, "shop")
	if len(got.Env) != 0 {
		t.Errorf("env after clearing: %v", got.Env)
	}
	if err := st.SetAppState(ctx, app.ID, store.AppState("exploded")); err == nil {
		t.Error("an unknown app state was recorded")
	}
}

func TestDeleteApp_RemovesEverythingRecordedAboutIt(t *testing.T) {
	ctx := context.Background()
	st, path := openFile(t)
	app := newApp(t, st, "doomed", "doomed.example.com")
	keep := newApp(t, st, "kept")

	fill := func(a *store.App) (rolloutID int64) {
		t.Helper()
		if _, err := st.CreateBuild(ctx, a.ID, 1, "upload", "/tmp/src"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateRelease(ctx, a.ID, 1, "/tmp/src", spec.Spec{Run: "./app"}, nil, "build #1"); err != nil {
			t.Fatal(err)
		}
		r, err := st.CreateRollout(ctx, store.Rollout{AppID: a.ID, Kind: store.KindDeploy, Strategy: "rolling"})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CreateInstance(ctx, store.Instance{ID: a.Name + "-v1-aaaaaa", AppID: a.ID, Release: 1, RolloutID: r.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AddEvent(ctx, store.Event{AppID: a.ID, RolloutID: r.ID, Kind: "log", Message: "hi"}); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	doomedRollout := fill(app)
	keptRollout := fill(keep)

	if err := st.DeleteApp(ctx, "doomed"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.App(ctx, "doomed"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted app still found: %v", err)
	}
	db := rawDB(t, path)
	for _, table := range []string{"builds", "releases", "rollouts", "instances", "events"} {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM `+table+` WHERE app_id = ?`, app.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d row(s) of the deleted app left in %s", n, table)
		}
		if err := db.QueryRow(`SELECT COUNT(*) FROM `+table+` WHERE app_id = ?`, keep.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%s of the other app: %d row(s), want 1", table, n)
		}
	}
	if evs, _ := st.RolloutEvents(ctx, doomedRollout, 0, 10); len(evs) != 0 {
		t.Errorf("events of the deleted app's rollout left: %v", evs)
	}
	if evs, _ := st.RolloutEvents(ctx, keptRollout, 0, 10); len(evs) != 1 {
		t.Errorf("events of the other app: %v", evs)
	}
	// Its name and domains are free again.
	if _, err := st.CreateApp(ctx, "doomed", app.TeamID, []string{"doomed.example.com"}); err != nil {
		t.Errorf("name and domain of a deleted app are not free: %v", err)
	}
}
