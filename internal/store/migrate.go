package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order, each once, each in its own transaction.
// Append new ones; never edit one that has shipped.
var migrations = []string{
	// 1: the foundation.
	`
CREATE TABLE teams (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	created_at TEXT NOT NULL
);
CREATE TABLE users (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	role       TEXT NOT NULL CHECK (role IN ('admin', 'member')),
	created_at TEXT NOT NULL
);
CREATE TABLE team_members (
	team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
	user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	PRIMARY KEY (team_id, user_id)
);
CREATE TABLE tokens (
	id           INTEGER PRIMARY KEY,
	user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	hash         TEXT NOT NULL UNIQUE,
	created_at   TEXT NOT NULL,
	last_used_at TEXT
);
CREATE TABLE apps (
	id           INTEGER PRIMARY KEY,
	name         TEXT NOT NULL UNIQUE,
	team_id      INTEGER NOT NULL REFERENCES teams(id),
	domains      TEXT NOT NULL DEFAULT '[]',
	env          TEXT NOT NULL DEFAULT '{}',
	state        TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'running', 'stopped')),
	live_release INTEGER NOT NULL DEFAULT 0,
	instances    INTEGER NOT NULL DEFAULT 0,
	created_at   TEXT NOT NULL,
	updated_at   TEXT NOT NULL
);
CREATE TABLE builds (
	id          INTEGER PRIMARY KEY,
	app_id      INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	number      INTEGER NOT NULL,
	status      TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
	source      TEXT NOT NULL,
	dir         TEXT NOT NULL,
	error       TEXT NOT NULL DEFAULT '',
	started_at  TEXT NOT NULL,
	finished_at TEXT,
	UNIQUE (app_id, number)
);
CREATE TABLE releases (
	id          INTEGER PRIMARY KEY,
	app_id      INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	version     INTEGER NOT NULL,
	build       INTEGER NOT NULL,
	dir         TEXT NOT NULL,
	spec        TEXT NOT NULL,
	env         TEXT NOT NULL,
	description TEXT NOT NULL,
	status      TEXT NOT NULL CHECK (status IN ('pending', 'live', 'retired', 'failed')),
	created_at  TEXT NOT NULL,
	UNIQUE (app_id, version)
);
CREATE TABLE rollouts (
	id           INTEGER PRIMARY KEY,
	app_id       INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	kind         TEXT NOT NULL,
	from_release INTEGER NOT NULL DEFAULT 0,
	to_release   INTEGER NOT NULL DEFAULT 0,
	instances    INTEGER NOT NULL DEFAULT 0,
	strategy     TEXT NOT NULL,
	state        TEXT NOT NULL,
	step         INTEGER NOT NULL DEFAULT 0,
	reason       TEXT NOT NULL DEFAULT '',
	created_by   TEXT NOT NULL DEFAULT '',
	created_at   TEXT NOT NULL,
	updated_at   TEXT NOT NULL,
	finished_at  TEXT
);
CREATE INDEX rollouts_app ON rollouts(app_id, id);
CREATE TABLE instances (
	id         TEXT PRIMARY KEY,
	app_id     INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	release    INTEGER NOT NULL,
	rollout_id INTEGER NOT NULL,
	addr       TEXT NOT NULL DEFAULT '',
	state      TEXT NOT NULL CHECK (state IN ('starting', 'serving', 'draining', 'stopped', 'failed')),
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE INDEX instances_app ON instances(app_id, state);
CREATE TABLE events (
	id         INTEGER PRIMARY KEY,
	app_id     INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	rollout_id INTEGER NOT NULL DEFAULT 0,
	time       TEXT NOT NULL,
	kind       TEXT NOT NULL,
	message    TEXT NOT NULL,
	data       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_rollout ON events(rollout_id, id);
`,
	// 2: an env rollout carries the app env it makes current once done.
	`ALTER TABLE rollouts ADD COLUMN env TEXT NOT NULL DEFAULT '';`,
	// 3: an app's incoming requests may be held (JSON of a Hold; NULL: not held).
	`ALTER TABLE apps ADD COLUMN hold TEXT;`,
	// 4: a release of a container app pins its image.
	`ALTER TABLE releases ADD COLUMN image TEXT NOT NULL DEFAULT '';`,
	// 5: pipeline runs, where apps' sources come from, webhook deliveries.
	`
CREATE TABLE runs (
	id          INTEGER PRIMARY KEY,
	app_id      INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	number      INTEGER NOT NULL,
	trigger     TEXT NOT NULL,
	commit_sha  TEXT NOT NULL DEFAULT '',
	ref         TEXT NOT NULL DEFAULT '',
	repo        TEXT NOT NULL DEFAULT '',
	started_by  TEXT NOT NULL,
	state       TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'superseded')),
	rollout_id  INTEGER NOT NULL DEFAULT 0,
	reason      TEXT NOT NULL DEFAULT '',
	fetch_log   TEXT NOT NULL DEFAULT '',
	created_at  TEXT NOT NULL,
	started_at  TEXT,
	fetched_at  TEXT,
	finished_at TEXT,
	UNIQUE (app_id, number)
);
CREATE TABLE deliveries (
	app_id     INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	forge      TEXT NOT NULL,
	delivery   TEXT NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (app_id, forge, delivery)
);
ALTER TABLE apps ADD COLUMN repo TEXT NOT NULL DEFAULT '';
ALTER TABLE apps ADD COLUMN branch TEXT NOT NULL DEFAULT 'main';
ALTER TABLE apps ADD COLUMN poll_every INTEGER NOT NULL DEFAULT 0;
ALTER TABLE apps ADD COLUMN webhook_secret TEXT NOT NULL DEFAULT '';
`,
	// 6: the stages of pipeline runs, as the pipeline runs them.
	runStagesMigration,
	// 7: viewers (they read, they do not act), passwords, and tokens that
	// expire. SQLite cannot change a CHECK: the users table is made anew
	// (foreign keys are off while migrations run, so nothing cascades).
	`
CREATE TABLE users_v7 (
	id            INTEGER PRIMARY KEY,
	name          TEXT NOT NULL UNIQUE,
	role          TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
	password_hash TEXT NOT NULL DEFAULT '',
	created_at    TEXT NOT NULL
);
INSERT INTO users_v7 (id, name, role, created_at) SELECT id, name, role, created_at FROM users;
DROP TABLE users;
ALTER TABLE users_v7 RENAME TO users;
ALTER TABLE tokens ADD COLUMN expires_at TEXT;
`,
	// 8: dashboard sessions (a cookie's hash, its CSRF token).
	`
CREATE TABLE sessions (
	hash       TEXT PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	csrf       TEXT NOT NULL,
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL
);
`,
	// 9: the audit log: who did what. Names, not ids: it outlives the
	// users and apps it names.
	`
CREATE TABLE audit (
	id     INTEGER PRIMARY KEY,
	time   TEXT NOT NULL,
	user   TEXT NOT NULL,
	action TEXT NOT NULL,
	app    TEXT NOT NULL DEFAULT '',
	target TEXT NOT NULL DEFAULT '',
	status INTEGER NOT NULL,
	addr   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_app ON audit (app, id);
`,
	// 10: the traffic history the dashboard charts (see samples.go).
	`
CREATE TABLE samples (
	app_id      INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	step        INTEGER NOT NULL,
	at          INTEGER NOT NULL,
	release     INTEGER NOT NULL,
	requests    INTEGER NOT NULL,
	errors      INTEGER NOT NULL,
	conn_errors INTEGER NOT NULL,
	latency     BLOB NOT NULL,
	PRIMARY KEY (app_id, step, at, release)
) WITHOUT ROWID;
`,
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var have int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if have > len(migrations) {
		return fmt.Errorf("database schema v%d is newer than this nonstop (v%d): upgrade nonstop", have, len(migrations))
	}
	// Each migration runs with foreign keys off, as SQLite asks of schema
	// changes that remake a table, and is checked before it commits.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`)
	for v := have + 1; v <= len(migrations); v++ {
		if err := s.apply(ctx, conn, v); err != nil {
			return fmt.Errorf("migrate schema to v%d: %w", v, err)
		}
	}
	return nil
}

// apply runs migration v in one transaction on conn, and refuses to commit
// it if it broke a foreign key.
func (s *Store) apply(ctx context.Context, conn *sql.Conn, v int) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, s.stamp()); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return err
	}
	broken := rows.Next()
	rows.Close()
	if broken {
		return fmt.Errorf("it leaves rows whose foreign keys point nowhere")
	}
	return tx.Commit()
}
