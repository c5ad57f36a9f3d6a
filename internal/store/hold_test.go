package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/store"
)

func TestSetAppHold_RecordsLiftsAndSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	st, path := openFile(t)
	app := newApp(t, st, "shop")
	if app.Hold != nil {
		t.Fatalf("new app is held: %+v", app.Hold)
	}
	want := store.Hold{MaxWait: 20 * time.Second, MaxQueue: 500, Since: epoch.Add(123 * time.Millisecond)}
	if err := st.SetAppHold(ctx, app.ID, &want); err != nil {
		t.Fatal(err)
	}
	byName, err := st.App(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	byID, err := st.AppByID(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	all, err := st.Apps(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("apps %v %v", all, err)
	}
	for what, got := range map[string]*store.App{"App": byName, "AppByID": byID, "Apps": all[0]} {
		if got.Hold == nil || got.Hold.MaxWait != want.MaxWait || got.Hold.MaxQueue != want.MaxQueue || !got.Hold.Since.Equal(want.Since) {
			t.Errorf("%s: hold %+v, want %+v", what, got.Hold, want)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	again, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got, err := again.App(ctx, "shop"); err != nil || got.Hold == nil || got.Hold.MaxWait != want.MaxWait {
		t.Fatalf("after reopen: hold %+v err %v; a hold must outlive a restart", got, err)
	}
	if err := again.SetAppHold(ctx, app.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := again.App(ctx, "shop"); err != nil || got.Hold != nil {
		t.Errorf("after lifting: hold %+v err %v, want none", got.Hold, err)
	}
}

func TestSetAppHold_UnknownAppIsNotFound(t *testing.T) {
	st := openMemory(t)
	newApp(t, st, "shop")
	err := st.SetAppHold(context.Background(), 9999, &store.Hold{MaxWait: time.Second, MaxQueue: 1})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("err %v, want ErrNotFound", err)
	}
}

// A database written before holds existed (schema v2, with apps in it) is
// migrated on open: its apps are kept, not held, and can be held.
func TestOpen_MigratesAnAppsTableWithoutHold(t *testing.T) {
	ctx := context.Background()
	st, path := openFile(t)
	app := newApp(t, st, "old", "old.example.com")
	st.Close()

	db := rawDB(t, path)
	for _, q := range []string{`DROP TABLE run_stages`, `DROP TABLE runs`, `DROP TABLE deliveries`, `ALTER TABLE apps DROP COLUMN repo`, `ALTER TABLE apps DROP COLUMN branch`, `ALTER TABLE apps DROP COLUMN poll_every`, `ALTER TABLE apps DROP COLUMN webhook_secret`,
		`ALTER TABLE releases DROP COLUMN image`, `ALTER TABLE apps DROP COLUMN hold`, `ALTER TABLE tokens DROP COLUMN expires_at`, `DROP TABLE sessions`, `DROP TABLE audit`, `DROP TABLE samples`, `DELETE FROM schema_migrations WHERE version >= 3`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("make a v2 database: %s: %v", q, err)
		}
	}
	db.Close()

	again, err := store.Open(ctx, path)
	if err != nil {
		t.Fatalf("open a v2 database: %v", err)
	}
	defer again.Close()
	got, err := again.App(ctx, "old")
	if err != nil {
		t.Fatalf("app of the v2 database: %v", err)
	}
	if got.Hold != nil || len(got.Domains) != 1 {
		t.Errorf("migrated app = %+v, want its domains and no hold", got)
	}
	if err := again.SetAppHold(ctx, app.ID, &store.Hold{MaxWait: time.Second, MaxQueue: 1}); err != nil {
		t.Errorf("hold after migration: %v", err)
	}
}
