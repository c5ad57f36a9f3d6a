package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// BuildStatus is where a build is.
type BuildStatus string

const (
	BuildRunning   BuildStatus = "running"
	BuildSucceeded BuildStatus = "succeeded"
	BuildFailed    BuildStatus = "failed"
)

// Build turns a source into an artifact (a release directory, an image).
type Build struct {
	ID         int64       `json:"-"`
	AppID      int64       `json:"-"`
	Number     int         `json:"number"`
	Status     BuildStatus `json:"status"`
	Source     string      `json:"source"`
	Dir        string      `json:"dir"`
	Error      string      `json:"error,omitempty"`
	StartedAt  time.Time   `json:"started_at"`
	FinishedAt time.Time   `json:"finished_at,omitempty"`
}

// NextBuildNumber returns the number the app's next build will take.
func (s *Store) NextBuildNumber(ctx context.Context, appID int64) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(number), 0) + 1 FROM builds WHERE app_id = ?`, appID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("next build number: %w", err)
	}
	return n, nil
}

// CreateBuild records a build that is starting, under the given number.
func (s *Store) CreateBuild(ctx context.Context, appID int64, number int, source, dir string) (*Build, error) {
	b := &Build{AppID: appID, Number: number, Status: BuildRunning, Source: source, Dir: dir, StartedAt: s.now()}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO builds (app_id, number, status, source, dir, started_at) VALUES (?, ?, ?, ?, ?, ?)`,
			appID, number, b.Status, source, dir, s.stamp())
		if err != nil {
			return err
		}
		b.ID, _ = res.LastInsertId()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create build #%d: %w", number, err)
	}
	return b, nil
}

// FinishBuild records a build's outcome.
func (s *Store) FinishBuild(ctx context.Context, id int64, status BuildStatus, errText string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE builds SET status = ?, error = ?, finished_at = ? WHERE id = ?`, status, errText, s.stamp(), id)
	if err != nil {
		return fmt.Errorf("finish build: %w", err)
	}
	return nil
}

// FailRunningBuilds marks builds that were running when nonstop stopped as failed.
func (s *Store) FailRunningBuilds(ctx context.Context, reason string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE builds SET status = 'failed', error = ?, finished_at = ? WHERE status = 'running'`, reason, s.stamp())
	if err != nil {
		return fmt.Errorf("fail running builds: %w", err)
	}
	return nil
}
