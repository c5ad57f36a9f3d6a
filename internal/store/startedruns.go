package store

import (
	"context"
	"database/sql"
	"fmt"
)

// CreateStartedRun records, in one step, the run of a source that came
// with its request (an upload, the CLI, a git push): numbered, running and
// fetched at once, linked to r.RolloutID, with r.FetchLog. It is never
// queued, so no one else can start it. Queued runs of the app are
// superseded, as CreateRun does; ErrConflict when another run of the app
// is running.
func (s *Store) CreateStartedRun(ctx context.Context, r Run) (*Run, error) {
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var busy, n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM runs WHERE state = 'running' AND app_id = ?`, r.AppID).Scan(&busy); err != nil {
			return err
		}
		if busy > 0 {
			return fmt.Errorf("another run of the app is running: %w", ErrConflict)
		}
		now := s.stamp()
		var err error
		if n, err = s.nextRun(ctx, tx, r.AppID, now); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO runs (app_id, number, trigger, commit_sha, started_by, state, rollout_id, fetch_log, created_at, started_at, fetched_at)
			VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)`,
			r.AppID, n, r.Trigger, r.Commit, r.StartedBy, r.RolloutID, r.FetchLog, now, now, now)
		if err != nil {
			return err
		}
		id, _ = res.LastInsertId()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create run: %w", err)
	}
	s.publish(Change{App: r.AppID, Run: id, Rollout: r.RolloutID})
	return s.runWhere(ctx, `r.id = ?`, id)
}
