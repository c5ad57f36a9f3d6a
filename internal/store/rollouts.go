package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RolloutState is a rollout's place in its state machine:
//
//	pending → building → starting → shifting → verifying → done
//	any non-terminal state → rolling_back → rolled_back
//	pending | building → failed   (nothing was changed, nothing to undo)
//
// paused is entered from shifting and left back to it.
type RolloutState string

const (
	RolloutPending     RolloutState = "pending"
	RolloutBuilding    RolloutState = "building"
	RolloutStarting    RolloutState = "starting"
	RolloutShifting    RolloutState = "shifting"
	RolloutPaused      RolloutState = "paused"
	RolloutVerifying   RolloutState = "verifying"
	RolloutDone        RolloutState = "done"
	RolloutFailed      RolloutState = "failed"
	RolloutRollingBack RolloutState = "rolling_back"
	RolloutRolledBack  RolloutState = "rolled_back"
)

// RolloutStates lists every state, in the order a rollout meets them.
var RolloutStates = []RolloutState{RolloutPending, RolloutBuilding, RolloutStarting, RolloutShifting, RolloutPaused,
	RolloutVerifying, RolloutDone, RolloutFailed, RolloutRollingBack, RolloutRolledBack}

// transitions lists, for each state, the states it may move to.
var transitions = map[RolloutState][]RolloutState{
	RolloutPending:     {RolloutBuilding, RolloutStarting, RolloutFailed, RolloutRollingBack},
	RolloutBuilding:    {RolloutStarting, RolloutFailed},
	RolloutStarting:    {RolloutShifting, RolloutVerifying, RolloutRollingBack},
	RolloutShifting:    {RolloutShifting, RolloutPaused, RolloutVerifying, RolloutRollingBack},
	RolloutPaused:      {RolloutShifting, RolloutRollingBack},
	RolloutVerifying:   {RolloutDone, RolloutRollingBack},
	RolloutRollingBack: {RolloutRolledBack, RolloutFailed},
}

// Valid reports whether s is a known state.
func (s RolloutState) Valid() bool {
	switch s {
	case RolloutDone, RolloutFailed, RolloutRolledBack:
		return true
	}
	_, ok := transitions[s]
	return ok
}

// Terminal reports whether a rollout in s is over.
func (s RolloutState) Terminal() bool {
	return s == RolloutDone || s == RolloutFailed || s == RolloutRolledBack
}

// Succeeded reports whether a rollout in s made its target live.
func (s RolloutState) Succeeded() bool { return s == RolloutDone }

// from lists the states that may move to s.
func from(to RolloutState) []RolloutState {
	var out []RolloutState
	for f, tos := range transitions {
		for _, t := range tos {
			if t == to {
				out = append(out, f)
			}
		}
	}
	return out
}

// RolloutKind says why a rollout was made.
type RolloutKind string

const (
	KindDeploy   RolloutKind = "deploy"
	KindRollback RolloutKind = "rollback"
	KindScale    RolloutKind = "scale"
	KindStart    RolloutKind = "start"
	KindEnv      RolloutKind = "env"
	KindRecover  RolloutKind = "recover"
	KindStop     RolloutKind = "stop"
)

// Rollout moves an app from one release (or instance count) to another.
type Rollout struct {
	ID          int64        `json:"id"`
	AppID       int64        `json:"-"`
	App         string       `json:"app"`
	Kind        RolloutKind  `json:"kind"`
	FromRelease int          `json:"from_release"`
	ToRelease   int          `json:"to_release"`
	Instances   int          `json:"instances"`
	Strategy    string       `json:"strategy"`
	State       RolloutState `json:"state"`
	Step        int          `json:"step"`
	Reason      string       `json:"reason,omitempty"`
	CreatedBy   string       `json:"created_by"`
	// Env is, for an env rollout, the app env it makes current once done.
	Env        map[string]string `json:"-"`
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"`
	FinishedAt time.Time         `json:"finished_at,omitempty"`
}

const rolloutColumns = `r.id, r.app_id, a.name, r.kind, r.from_release, r.to_release, r.instances, r.strategy, r.state, r.step, r.reason, r.created_by, r.created_at, r.updated_at, r.finished_at, r.env`

func scanRollout(row interface{ Scan(...any) error }) (*Rollout, error) {
	var r Rollout
	var created, updated, finished sql.NullString
	var env string
	err := row.Scan(&r.ID, &r.AppID, &r.App, &r.Kind, &r.FromRelease, &r.ToRelease, &r.Instances, &r.Strategy, &r.State, &r.Step, &r.Reason, &r.CreatedBy, &created, &updated, &finished, &env)
	if err != nil {
		return nil, err
	}
	if env != "" {
		if err := json.Unmarshal([]byte(env), &r.Env); err != nil {
			return nil, fmt.Errorf("rollout #%d env: %w", r.ID, err)
		}
	}
	r.CreatedAt, r.UpdatedAt, r.FinishedAt = parseTime(created), parseTime(updated), parseTime(finished)
	return &r, nil
}

// CreateRollout records a new pending rollout. It refuses (ErrConflict) when
// the app has a rollout that is not over: one rollout per app at a time.
func (s *Store) CreateRollout(ctx context.Context, r Rollout) (*Rollout, error) {
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var busy int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM rollouts WHERE app_id = ? AND state NOT IN ('done', 'failed', 'rolled_back') LIMIT 1`, r.AppID).Scan(&busy)
		if err == nil {
			return fmt.Errorf("rollout #%d of this app is still in progress: %w", busy, ErrConflict)
		}
		if err != sql.ErrNoRows {
			return err
		}
		now := s.stamp()
		env := ""
		if r.Env != nil {
			b, _ := json.Marshal(r.Env)
			env = string(b)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO rollouts (app_id, kind, from_release, to_release, instances, strategy, state, created_by, created_at, updated_at, env) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)`,
			r.AppID, r.Kind, r.FromRelease, r.ToRelease, r.Instances, r.Strategy, r.CreatedBy, now, now, env)
		if err != nil {
			return err
		}
		id, _ = res.LastInsertId()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create rollout: %w", err)
	}
	s.publish(Change{App: r.AppID, Rollout: id})
	return s.Rollout(ctx, id)
}

// Rollout returns a rollout by id.
func (s *Store) Rollout(ctx context.Context, id int64) (*Rollout, error) {
	r, err := scanRollout(s.db.QueryRowContext(ctx, `SELECT `+rolloutColumns+` FROM rollouts r JOIN apps a ON a.id = r.app_id WHERE r.id = ?`, id))
	if err != nil {
		return nil, notFound(err, fmt.Sprintf("rollout #%d", id))
	}
	return r, nil
}

// Rollouts lists an app's rollouts, newest first.
func (s *Store) Rollouts(ctx context.Context, appID int64, limit int) ([]*Rollout, error) {
	return s.queryRollouts(ctx, `WHERE r.app_id = ? ORDER BY r.id DESC LIMIT ?`, appID, limit)
}

// UnfinishedRollouts lists rollouts that are not over, oldest first: after a
// restart, these are the ones to finish or roll back.
func (s *Store) UnfinishedRollouts(ctx context.Context) ([]*Rollout, error) {
	return s.queryRollouts(ctx, `WHERE r.state NOT IN ('done', 'failed', 'rolled_back') ORDER BY r.id`)
}

// LastDoneRollout returns the app's latest rollout that made a release live.
func (s *Store) LastDoneRollout(ctx context.Context, appID int64) (*Rollout, error) {
	rs, err := s.queryRollouts(ctx, `WHERE r.app_id = ? AND r.state = 'done' AND r.kind IN ('deploy', 'rollback', 'env') ORDER BY r.id DESC LIMIT 1`, appID)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("no completed rollout: %w", ErrNotFound)
	}
	return rs[0], nil
}

func (s *Store) queryRollouts(ctx context.Context, where string, args ...any) ([]*Rollout, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+rolloutColumns+` FROM rollouts r JOIN apps a ON a.id = r.app_id `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list rollouts: %w", err)
	}
	defer rows.Close()
	var out []*Rollout
	for rows.Next() {
		r, err := scanRollout(rows)
		if err != nil {
			return nil, fmt.Errorf("list rollouts: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Transition moves a rollout to state `to`, checking inside the transaction
// that the move is allowed from its current state, and records the "state"
// event that says so in the same transaction: a reader who sees the new
// state sees its event too. step and reason are recorded with it (reason
// only when not empty).
func (s *Store) Transition(ctx context.Context, id int64, to RolloutState, step int, reason string) error {
	return s.TransitionNote(ctx, id, to, step, reason, "")
}

// TransitionNote is Transition with a note appended to the state event.
func (s *Store) TransitionNote(ctx context.Context, id int64, to RolloutState, step int, reason, note string) error {
	if !to.Valid() {
		return fmt.Errorf("rollout #%d: unknown state %q", id, to)
	}
	froms := from(to)
	ph := strings.TrimSuffix(strings.Repeat("?,", len(froms)), ",")
	now := s.stamp()
	finished := sql.NullString{}
	if to.Terminal() {
		finished = sql.NullString{String: now, Valid: true}
	}
	args := []any{to, step, reason, reason, now, finished, id}
	for _, f := range froms {
		args = append(args, f)
	}
	var appID int64
	defer func() { s.publish(Change{App: appID, Rollout: id}) }()
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE rollouts SET state = ?, step = ?, reason = CASE WHEN ? = '' THEN reason ELSE ? END, updated_at = ?, finished_at = ? WHERE id = ? AND state IN (`+ph+`) RETURNING app_id`, args...).Scan(&appID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("rollout #%d to %s: %w", id, to, err)
		}
		if errors.Is(err, sql.ErrNoRows) {
			var cur string
			if err := tx.QueryRowContext(ctx, `SELECT state FROM rollouts WHERE id = ?`, id).Scan(&cur); err != nil {
				return notFound(err, fmt.Sprintf("rollout #%d", id))
			}
			return fmt.Errorf("rollout #%d cannot move from %q to %q: %w", id, cur, to, ErrConflict)
		}
		msg := fmt.Sprintf("rollout #%d: %s", id, to)
		if reason != "" {
			msg += ": " + reason
		}
		if note != "" {
			msg += "; " + note
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO events (app_id, rollout_id, time, kind, message, data) SELECT app_id, id, ?, 'state', ?, ? FROM rollouts WHERE id = ?`,
			now, msg, fmt.Sprintf(`{"state":%q}`, to), id)
		return err
	})
}

// SetRolloutTarget records the release a rollout moves to, once it is built.
func (s *Store) SetRolloutTarget(ctx context.Context, id int64, toRelease, instances int) error {
	_, err := s.db.ExecContext(ctx, `UPDATE rollouts SET to_release = ?, instances = ?, updated_at = ? WHERE id = ?`, toRelease, instances, s.stamp(), id)
	if err != nil {
		return fmt.Errorf("set rollout #%d target: %w", id, err)
	}
	s.publish(Change{Rollout: id})
	return nil
}
