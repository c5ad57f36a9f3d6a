package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// StageStatus is where a stage of a pipeline run is.
type StageStatus string

const (
	StageRunning StageStatus = "running"
	StageOK      StageStatus = "ok"
	StageFailed  StageStatus = "failed"
)

// RunStage is one stage of a pipeline run (fetch, build, push, deploy,
// verify) as the pipeline recorded it while it ran it. A stage the run
// never reached has no record.
type RunStage struct {
	RunID      int64
	Name       string
	Status     StageStatus
	StartedAt  time.Time
	FinishedAt time.Time
}

// StartStage records that a run's stage started at `at` (zero: now). A
// stage recorded already keeps its record: a resumed run starts nothing twice.
func (s *Store) StartStage(ctx context.Context, runID int64, name string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO run_stages (run_id, name, status, started_at) VALUES (?, ?, 'running', ?)
		ON CONFLICT (run_id, name) DO NOTHING`, runID, name, s.stampOf(at))
	if err != nil {
		return fmt.Errorf("start stage %s of run %d: %w", name, runID, err)
	}
	s.publish(Change{Run: runID})
	return nil
}

// FinishStage records how a run's stage ended at `at` (zero: now), unless it
// ended already. A stage that was never recorded as started (its start came
// and went between two looks) is recorded as starting then too.
func (s *Store) FinishStage(ctx context.Context, runID int64, name string, status StageStatus, at time.Time) error {
	when := s.stampOf(at)
	_, err := s.db.ExecContext(ctx, `INSERT INTO run_stages (run_id, name, status, started_at, finished_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (run_id, name) DO UPDATE SET status = excluded.status, finished_at = excluded.finished_at
		WHERE run_stages.finished_at IS NULL`, runID, name, status, when, when)
	if err != nil {
		return fmt.Errorf("finish stage %s of run %d: %w", name, runID, err)
	}
	s.publish(Change{Run: runID})
	return nil
}

// RunStages lists the stages recorded of a run, in the order they started.
func (s *Store) RunStages(ctx context.Context, runID int64) ([]*RunStage, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT run_id, name, status, started_at, finished_at FROM run_stages WHERE run_id = ? ORDER BY started_at, rowid`, runID)
	if err != nil {
		return nil, fmt.Errorf("stages of run %d: %w", runID, err)
	}
	defer rows.Close()
	var out []*RunStage
	for rows.Next() {
		var st RunStage
		var started, finished sql.NullString
		if err := rows.Scan(&st.RunID, &st.Name, &st.Status, &started, &finished); err != nil {
			return nil, fmt.Errorf("stages of run %d: %w", runID, err)
		}
		st.StartedAt, st.FinishedAt = parseTime(started), parseTime(finished)
		out = append(out, &st)
	}
	return out, rows.Err()
}

// stampOf is the stored form of t, or of now when t is zero.
func (s *Store) stampOf(t time.Time) string {
	if t.IsZero() {
		return s.stamp()
	}
	return t.UTC().Format(timeFormat)
}

// runStagesMigration is migration 6 (never edit it): the run_stages table,
// and the stages of the runs recorded before it, as the old reading of
// their rows and their rollouts' histories showed them.
const runStagesMigration = `
CREATE TABLE run_stages (
	run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	name        TEXT NOT NULL,
	status      TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed')),
	started_at  TEXT NOT NULL,
	finished_at TEXT,
	PRIMARY KEY (run_id, name)
);
INSERT INTO run_stages (run_id, name, status, started_at, finished_at)
SELECT id, 'fetch', CASE WHEN fetched_at IS NOT NULL THEN 'ok' WHEN state IN ('queued', 'running') THEN 'running' ELSE 'failed' END, started_at, fetched_at
FROM runs WHERE started_at IS NOT NULL;
WITH marks AS (
	SELECT r.id AS run_id, r.state IN ('queued', 'running') AS open, ro.state IN ('failed', 'rolled_back') AS failed,
		(SELECT MIN(time) FROM events WHERE rollout_id = ro.id AND kind = 'state' AND json_extract(data, '$.state') = 'building') AS build,
		(SELECT MIN(time) FROM events WHERE rollout_id = ro.id AND kind = 'stage' AND message = 'push') AS push,
		(SELECT MIN(time) FROM events WHERE rollout_id = ro.id AND kind = 'release') AS release,
		(SELECT MIN(time) FROM events WHERE rollout_id = ro.id AND kind = 'state' AND json_extract(data, '$.state') = 'starting') AS deploy,
		(SELECT MIN(time) FROM events WHERE rollout_id = ro.id AND kind = 'state' AND json_extract(data, '$.state') = 'verifying') AS verify,
		(SELECT MIN(time) FROM events WHERE rollout_id = ro.id AND kind = 'state' AND json_extract(data, '$.state') IN ('done', 'failed', 'rolling_back')) AS ended
	FROM runs r JOIN rollouts ro ON ro.id = r.rollout_id
), spans AS (
	SELECT run_id, open, failed, 'build' AS name, 1 AS pos, build AS started, COALESCE(push, release, ended) AS finished FROM marks
	UNION ALL SELECT run_id, open, failed, 'push', 2, push, COALESCE(release, ended) FROM marks
	UNION ALL SELECT run_id, open, failed, 'deploy', 3, deploy, COALESCE(verify, ended) FROM marks
	UNION ALL SELECT run_id, open, failed, 'verify', 4, verify, ended FROM marks
)
INSERT INTO run_stages (run_id, name, status, started_at, finished_at)
SELECT run_id, name, CASE
		WHEN finished IS NULL AND open THEN 'running'
		WHEN finished IS NULL THEN 'failed'
		WHEN failed AND pos = (SELECT MAX(l.pos) FROM spans l WHERE l.run_id = s.run_id AND l.started IS NOT NULL) THEN 'failed'
		ELSE 'ok' END,
	started, finished
FROM spans s WHERE started IS NOT NULL;
`
