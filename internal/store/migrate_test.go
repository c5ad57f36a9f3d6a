package store_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nonstopdev/nonstop/internal/store"
)

func TestOpen_TwiceOnTheSameFileMigratesOnceAndKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nonstop.db")
	first, err := store.Open(ctx, path)
	if err != nil {
		t.Fatalf("first open: %v", err)
	}
	team := defaultTeam(t, first)
	if _, err := first.CreateApp(ctx, "kept", team, []string{"kept.example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	for i := range 2 {
		again, err := store.Open(ctx, path)
		if err != nil {
			t.Fatalf("open #%d of a migrated file: %v", i+2, err)
		}
		app, err := again.App(ctx, "kept")
		if err != nil {
			t.Fatalf("open #%d: app written before is gone: %v", i+2, err)
		}
		if len(app.Domains) != 1 || app.Domains[0] != "kept.example.com" {
			t.Errorf("open #%d: domains %v", i+2, app.Domains)
		}
		if created, err := again.Bootstrap(ctx, "another-hash"); err != nil || created {
			t.Errorf("open #%d: bootstrap created=%v err=%v; the admin exists already", i+2, created, err)
		}
		again.Close()
	}

	db := rawDB(t, path)
	var versions, rows int
	if err := db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&rows, &versions); err != nil {
		t.Fatal(err)
	}
	if rows != versions || rows == 0 {
		t.Errorf("schema_migrations has %d rows for %d versions: each migration must be recorded once", rows, versions)
	}
}

func TestOpen_RefusesASchemaNewerThanItKnows(t *testing.T) {
	ctx := context.Background()
	_, path := openFile(t)
	db := rawDB(t, path)
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (9999, '2030-01-01T00:00:00Z')`); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, path)
	if err == nil {
		st.Close()
		t.Fatal("opened a database migrated by a newer nonstop; want an error")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Errorf("error %q should say the schema is newer", err)
	}
}

func TestOpen_FailsOnAFolderThatDoesNotExist(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "missing", "deeper", "nonstop.db"))
	if err == nil {
		st.Close()
		t.Fatal("want an error for a path whose folder does not exist")
	}
}

func TestOpen_InMemoryStoresAreSeparate(t *testing.T) {
	ctx := context.Background()
	a, b := openMemory(t), openMemory(t)
	newApp(t, a, "only-in-a")
	if _, err := b.App(ctx, "only-in-a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("app of one in-memory store seen in another: err %v", err)
	}
}

// rawDB opens the store's file with plain database/sql, to look under the API.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpen_TheStoreAndItsLogAreReadableByNonstopAlone(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nonstop.db")
	os.WriteFile(path, nil, 0o644) // as an older nonstop left it
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Bootstrap(ctx, "hash"); err != nil { // a write: the WAL exists
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s is %o, want 600", filepath.Base(p), mode)
		}
	}
}
