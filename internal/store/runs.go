package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// RunState is where a pipeline run is.
type RunState string

const (
	RunQueued     RunState = "queued"     // waits for the app's current rollout to end
	RunRunning    RunState = "running"    // fetching, building, deploying or verifying
	RunSucceeded  RunState = "succeeded"  // its release is live
	RunFailed     RunState = "failed"     // fetch, build or rollout failed; the live release serves on
	RunCancelled  RunState = "cancelled"  // cancelled by a user
	RunSuperseded RunState = "superseded" // a newer commit came while it was queued
)

// Terminal reports whether a run in s is over.
func (s RunState) Terminal() bool { return s != RunQueued && s != RunRunning }

// Run is one pipeline run: trigger → fetch → build → push → deploy → verify.
type Run struct {
	ID         int64     `json:"-"`
	AppID      int64     `json:"-"`
	App        string    `json:"app"`
	Number     int       `json:"number"`
	Trigger    string    `json:"trigger"` // push, webhook, poll, upload, cli
	Commit     string    `json:"commit,omitempty"`
	Ref        string    `json:"ref,omitempty"`
	Repo       string    `json:"repo,omitempty"`
	StartedBy  string    `json:"started_by"`
	State      RunState  `json:"state"`
	RolloutID  int64     `json:"rollout_id,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	FetchLog   string    `json:"-"`
	CreatedAt  time.Time `json:"created_at"`
	StartedAt  time.Time `json:"started_at,omitempty"`
	FetchedAt  time.Time `json:"fetched_at,omitempty"`
	FinishedAt time.Time `json:"finished_at,omitempty"`
}

const runColumns = `r.id, r.app_id, a.name, r.number, r.trigger, r.commit_sha, r.ref, r.repo, r.started_by, r.state, r.rollout_id, r.reason, r.fetch_log, r.created_at, r.started_at, r.fetched_at, r.finished_at`

func scanRun(row interface{ Scan(...any) error }) (*Run, error) {
	var r Run
	var created, started, fetched, finished sql.NullString
	err := row.Scan(&r.ID, &r.AppID, &r.App, &r.Number, &r.Trigger, &r.Commit, &r.Ref, &r.Repo, &r.StartedBy, &r.State, &r.RolloutID, &r.Reason, &r.FetchLog,
		&created, &started, &fetched, &finished)
	if err != nil {
		return nil, err
	}
	r.CreatedAt, r.StartedAt, r.FetchedAt, r.FinishedAt = parseTime(created), parseTime(started), parseTime(fetched), parseTime(finished)
	return &r, nil
}

// CreateRun records a queued run with the app's next number. Queued runs
// of the app that came before it are superseded: only the newest commit is
// worth deploying.
func (s *Store) CreateRun(ctx context.Context, r Run) (*Run, error) {
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.stamp()
		n, err := s.nextRun(ctx, tx, r.AppID, now)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO runs (app_id, number, trigger, commit_sha, ref, repo, started_by, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?)`,
			r.AppID, n, r.Trigger, r.Commit, r.Ref, r.Repo, r.StartedBy, now)
		if err != nil {
			return err
		}
		id, _ = res.LastInsertId()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create run: %w", err)
	}
	s.publish(Change{App: r.AppID, Run: id})
	return s.runWhere(ctx, `r.id = ?`, id)
}

// nextRun numbers the app's next run and supersedes its queued ones.
func (s *Store) nextRun(ctx context.Context, tx *sql.Tx, appID int64, now string) (int, error) {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(number), 0) + 1 FROM runs WHERE app_id = ?`, appID).Scan(&n); err != nil {
		return 0, err
	}
	_, err := tx.ExecContext(ctx, `UPDATE runs SET state = 'superseded', reason = ?, finished_at = ? WHERE app_id = ? AND state = 'queued'`,
		fmt.Sprintf("superseded by run #%d", n), now, appID)
	return n, err
}

// StartRun moves a queued run to running; ErrConflict when it is no longer
// queued (cancelled or superseded meanwhile) or another run of the app runs.
func (s *Store) StartRun(ctx context.Context, id int64) error {
	defer s.publish(Change{Run: id})
	return s.tx(ctx, func(tx *sql.Tx) error {
		var busy int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM runs WHERE state = 'running' AND app_id = (SELECT app_id FROM runs WHERE id = ?)`, id).Scan(&busy); err != nil {
			return err
		}
		if busy > 0 {
			return fmt.Errorf("another run of the app is running: %w", ErrConflict)
		}
		res, err := tx.ExecContext(ctx, `UPDATE runs SET state = 'running', started_at = ? WHERE id = ? AND state = 'queued'`, s.stamp(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("run is no longer queued: %w", ErrConflict)
		}
		return nil
	})
}

// FetchedRun records the end of a run's fetch stage and its log.
func (s *Store) FetchedRun(ctx context.Context, id int64, commit, log string) error {
	defer s.publish(Change{Run: id})
	_, err := s.db.ExecContext(ctx, `UPDATE runs SET fetched_at = ?, fetch_log = ?, commit_sha = CASE WHEN ? = '' THEN commit_sha ELSE ? END WHERE id = ?`,
		s.stamp(), log, commit, commit, id)
	return err
}

// SetRunRollout links a run to the rollout that deploys it.
func (s *Store) SetRunRollout(ctx context.Context, id, rolloutID int64) error {
	defer s.publish(Change{Run: id, Rollout: rolloutID})
	_, err := s.db.ExecContext(ctx, `UPDATE runs SET rollout_id = ? WHERE id = ?`, rolloutID, id)
	return err
}

// FinishRun records how a run ended, unless it ended already.
func (s *Store) FinishRun(ctx context.Context, id int64, state RunState, reason string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE runs SET state = ?, reason = ?, finished_at = ? WHERE id = ? AND state IN ('queued', 'running')`,
		state, reason, s.stamp(), id)
	if err != nil {
		return fmt.Errorf("finish run: %w", err)
	}
	s.publish(Change{Run: id})
	return nil
}

// Run returns an app's run by number.
func (s *Store) Run(ctx context.Context, appID int64, number int) (*Run, error) {
	return s.runWhere(ctx, `r.app_id = ? AND r.number = ?`, appID, number)
}

// Runs lists an app's runs, newest first.
func (s *Store) Runs(ctx context.Context, appID int64, limit int) ([]*Run, error) {
	return s.queryRuns(ctx, `WHERE r.app_id = ? ORDER BY r.number DESC LIMIT ?`, appID, limit)
}

// NextQueuedRun returns the app's queued run, if any.
func (s *Store) NextQueuedRun(ctx context.Context, appID int64) (*Run, error) {
	rs, err := s.queryRuns(ctx, `WHERE r.app_id = ? AND r.state = 'queued' ORDER BY r.number DESC LIMIT 1`, appID)
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	return rs[0], nil
}

// UnfinishedRuns lists runs that are queued or running (after a restart).
func (s *Store) UnfinishedRuns(ctx context.Context) ([]*Run, error) {
	return s.queryRuns(ctx, `WHERE r.state IN ('queued', 'running') ORDER BY r.id`)
}

func (s *Store) runWhere(ctx context.Context, where string, args ...any) (*Run, error) {
	rs, err := s.queryRuns(ctx, `WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("run: %w", ErrNotFound)
	}
	return rs[0], nil
}

func (s *Store) queryRuns(ctx context.Context, where string, args ...any) ([]*Run, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+runColumns+` FROM runs r JOIN apps a ON a.id = r.app_id `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var out []*Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RecordDelivery notes a webhook delivery; it reports false when the same
// delivery was seen before (a redelivery, not to deploy twice).
func (s *Store) RecordDelivery(ctx context.Context, appID int64, forge, delivery string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO deliveries (app_id, forge, delivery, created_at) VALUES (?, ?, ?, ?)`,
		appID, forge, delivery, s.stamp())
	if err != nil {
		return false, fmt.Errorf("record delivery: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// LiveCommit is the commit the app's live release was built from, when a
// run deployed it ("": unknown, or none is live).
func (s *Store) LiveCommit(ctx context.Context, appID int64) (string, error) {
	var commit string
	err := s.db.QueryRowContext(ctx, `SELECT r.commit_sha FROM runs r
		JOIN rollouts o ON o.id = r.rollout_id
		JOIN apps a ON a.id = o.app_id AND a.live_release = o.to_release
		WHERE o.app_id = ? AND o.state = 'done' AND r.commit_sha != ''
		ORDER BY o.id DESC LIMIT 1`, appID).Scan(&commit)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("the live commit: %w", err)
	}
	return commit, nil
}
