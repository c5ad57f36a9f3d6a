// Package store keeps nonstop's state in an embedded SQLite database: apps,
// builds, releases, rollouts, instances, users, tokens and events. Every
// public method runs in its own transaction; private helpers take the *sql.Tx
// so that they combine.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, so the binary stays static
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a change clashes with the current state
// (a duplicate name, a transition from the wrong state).
var ErrConflict = errors.New("conflict")

// Store is the SQLite-backed state of one nonstop installation.
type Store struct {
	db      *sql.DB
	now     func() time.Time
	changes changes // who watches rollouts, events and runs (Watch)
}

// Open opens (creating if needed) the database at path and migrates it.
// path ":memory:" gives a private in-memory database, for tests.
func Open(ctx context.Context, path string) (*Store, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	if path == ":memory:" {
		dsn = "file::memory:?_pragma=foreign_keys(1)&_txlock=immediate"
	}
	if path != ":memory:" {
		// Only nonstop's user reads the store (tokens' hashes, env
		// values): SQLite gives its -wal and -shm files the database's
		// own mode.
		if err := privateFile(path); err != nil {
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// One writer at a time is SQLite's model; a single connection also keeps
	// an in-memory database alive and shared.
	db.SetMaxOpenConns(1)
	s := &Store{db: db, now: func() time.Time { return time.Now().UTC() }}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// SetClock replaces the store's clock (tests).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// tx runs fn in one transaction, committing when it returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// timeFormat is fixed-width, so that stored times sort as text in time order.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

func (s *Store) stamp() string { return s.now().UTC().Format(timeFormat) }

func parseTime(v sql.NullString) time.Time {
	if !v.Valid || v.String == "" {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, v.String)
	return t
}

// notFound turns sql.ErrNoRows into ErrNotFound with context.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// privateFile creates path with mode 0600 if it is missing, and makes it
// (and the -wal and -shm files a crash may have left) 0600 if it is not.
func privateFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// UsedBytes is the size of the store's live pages: what its data takes,
// whether or not the write-ahead log was folded into the file yet, and
// without the free pages deleted rows left for reuse.
func (s *Store) UsedBytes(ctx context.Context) (int64, error) {
	var pages, free, size int64
	for _, q := range []struct {
		pragma string
		into   *int64
	}{{"page_count", &pages}, {"freelist_count", &free}, {"page_size", &size}} {
		if err := s.db.QueryRowContext(ctx, "PRAGMA "+q.pragma).Scan(q.into); err != nil {
			return 0, fmt.Errorf("store size: %s: %w", q.pragma, err)
		}
	}
	return (pages - free) * size, nil
}
