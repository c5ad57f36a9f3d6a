package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// InstanceState is where an instance is in its life.
type InstanceState string

const (
	InstanceStarting InstanceState = "starting" // started, not yet healthy, takes no traffic
	InstanceServing  InstanceState = "serving"  // healthy and in the route
	InstanceDraining InstanceState = "draining" // out of the route, in-flight requests finishing
	InstanceStopped  InstanceState = "stopped"  // stopped after draining
	InstanceFailed   InstanceState = "failed"   // never became healthy; stopped
)

// Instance is the store's record of one running copy of a release.
type Instance struct {
	ID        string        `json:"id"`
	AppID     int64         `json:"-"`
	Release   int           `json:"release"`
	RolloutID int64         `json:"rollout_id"`
	Addr      string        `json:"addr"`
	State     InstanceState `json:"state"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
}

const instanceColumns = `id, app_id, release, rollout_id, addr, state, created_at, updated_at`

func scanInstance(row interface{ Scan(...any) error }) (*Instance, error) {
	var in Instance
	var created, updated sql.NullString
	if err := row.Scan(&in.ID, &in.AppID, &in.Release, &in.RolloutID, &in.Addr, &in.State, &created, &updated); err != nil {
		return nil, err
	}
	in.CreatedAt, in.UpdatedAt = parseTime(created), parseTime(updated)
	return &in, nil
}

// CreateInstance records an instance before it is started, so that a crash
// between the record and the start leaves a trace to clean up.
func (s *Store) CreateInstance(ctx context.Context, in Instance) error {
	now := s.stamp()
	_, err := s.db.ExecContext(ctx, `INSERT INTO instances (id, app_id, release, rollout_id, addr, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		in.ID, in.AppID, in.Release, in.RolloutID, in.Addr, InstanceStarting, now, now)
	if err != nil {
		return fmt.Errorf("record instance %s: %w", in.ID, err)
	}
	return nil
}

// SetInstanceState records an instance's new state (and address when known).
func (s *Store) SetInstanceState(ctx context.Context, id string, state InstanceState, addr string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE instances SET state = ?, addr = CASE WHEN ? = '' THEN addr ELSE ? END, updated_at = ? WHERE id = ?`,
		state, addr, addr, s.stamp(), id)
	if err != nil {
		return fmt.Errorf("set instance %s %s: %w", id, state, err)
	}
	return nil
}

// ActiveInstances lists an app's instances that are starting, serving or draining.
func (s *Store) ActiveInstances(ctx context.Context, appID int64) ([]*Instance, error) {
	return s.queryInstances(ctx, `WHERE app_id = ? AND state IN ('starting', 'serving', 'draining') ORDER BY created_at, rowid`, appID)
}

// Instances lists an app's recent instances, active ones and the last stopped.
func (s *Store) Instances(ctx context.Context, appID int64, limit int) ([]*Instance, error) {
	return s.queryInstances(ctx, `WHERE app_id = ? ORDER BY CASE WHEN state IN ('starting', 'serving', 'draining') THEN 0 ELSE 1 END, updated_at DESC, rowid DESC LIMIT ?`, appID, limit)
}

func (s *Store) queryInstances(ctx context.Context, where string, args ...any) ([]*Instance, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+instanceColumns+` FROM instances `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	defer rows.Close()
	var out []*Instance
	for rows.Next() {
		in, err := scanInstance(rows)
		if err != nil {
			return nil, fmt.Errorf("list instances: %w", err)
		}
		out = append(out, in)
	}
	return out, rows.Err()
}
