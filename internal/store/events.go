package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Event is one line of an app's history: a state change, a build log line,
// progress of a rollout.
type Event struct {
	ID        int64          `json:"id"`
	AppID     int64          `json:"-"`
	RolloutID int64          `json:"rollout_id,omitempty"`
	Time      time.Time      `json:"time"`
	Kind      string         `json:"kind"`
	Message   string         `json:"message"`
	Data      map[string]any `json:"data,omitempty"`
}

// AddEvent appends an event.
func (s *Store) AddEvent(ctx context.Context, e Event) (int64, error) {
	data := []byte("{}")
	if e.Data != nil {
		var err error
		if data, err = json.Marshal(e.Data); err != nil {
			return 0, fmt.Errorf("encode event data: %w", err)
		}
	}
	when := e.Time
	if when.IsZero() {
		when = s.now()
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO events (app_id, rollout_id, time, kind, message, data) VALUES (?, ?, ?, ?, ?, ?)`,
		e.AppID, e.RolloutID, when.UTC().Format(timeFormat), e.Kind, e.Message, string(data))
	if err != nil {
		return 0, fmt.Errorf("add event: %w", err)
	}
	s.publish(Change{App: e.AppID, Rollout: e.RolloutID})
	return res.LastInsertId()
}

// LastRolloutEvent returns a rollout's newest event (nil when it has none).
func (s *Store) LastRolloutEvent(ctx context.Context, rolloutID int64) (*Event, error) {
	var e Event
	var when sql.NullString
	var data string
	err := s.db.QueryRowContext(ctx, `SELECT id, app_id, rollout_id, time, kind, message, data FROM events WHERE rollout_id = ? ORDER BY id DESC LIMIT 1`, rolloutID).
		Scan(&e.ID, &e.AppID, &e.RolloutID, &when, &e.Kind, &e.Message, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("last event of rollout #%d: %w", rolloutID, err)
	}
	e.Time = parseTime(when)
	if data != "{}" {
		json.Unmarshal([]byte(data), &e.Data)
	}
	return &e, nil
}

// RolloutEvents returns a rollout's events with id > after, oldest first.
func (s *Store) RolloutEvents(ctx context.Context, rolloutID, after int64, limit int) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, app_id, rollout_id, time, kind, message, data FROM events WHERE rollout_id = ? AND id > ? ORDER BY id LIMIT ?`, rolloutID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return scanEvents(rows, "list events")
}

// AppEvents returns the app's events of the given kinds whose time is in
// [since, until), oldest first: the newest limit of them.
func (s *Store) AppEvents(ctx context.Context, appID int64, kinds []string, since, until time.Time, limit int) ([]Event, error) {
	if len(kinds) == 0 {
		return nil, nil
	}
	args := []any{appID, since.UTC().Format(timeFormat), until.UTC().Format(timeFormat)}
	in := strings.Repeat(",?", len(kinds))[1:]
	for _, k := range kinds {
		args = append(args, k)
	}
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, `SELECT id, app_id, rollout_id, time, kind, message, data FROM events
		WHERE app_id = ? AND time >= ? AND time < ? AND kind IN (`+in+`) ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("app events: %w", err)
	}
	out, err := scanEvents(rows, "app events")
	slices.Reverse(out)
	return out, err
}

// scanEvents reads rows of (id, app_id, rollout_id, time, kind, message,
// data) and closes them; what names the query in errors.
func scanEvents(rows *sql.Rows, what string) ([]Event, error) {
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var when sql.NullString
		var data string
		if err := rows.Scan(&e.ID, &e.AppID, &e.RolloutID, &when, &e.Kind, &e.Message, &data); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		e.Time = parseTime(when)
		if data != "{}" {
			json.Unmarshal([]byte(data), &e.Data)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
