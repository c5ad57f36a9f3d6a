package store

import (
	"context"
	"fmt"
	"time"
)

// Session is a dashboard login: its cookie is kept as a hash, with the
// CSRF token every state-changing request of the session must carry.
type Session struct {
	User      *User
	CSRF      string
	ExpiresAt time.Time
}

// CreateSession records a session of user userID, by its cookie's hash.
func (s *Store) CreateSession(ctx context.Context, userID int64, hash, csrf string, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (hash, user_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		hash, userID, csrf, s.stamp(), expires.UTC().Format(timeFormat))
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByHash finds a session that has not expired, with its user.
func (s *Store) SessionByHash(ctx context.Context, hash string) (*Session, error) {
	var name string
	var csrf, expires string
	err := s.db.QueryRowContext(ctx, `SELECT u.name, x.csrf, x.expires_at FROM sessions x JOIN users u ON u.id = x.user_id WHERE x.hash = ? AND x.expires_at > ?`,
		hash, s.stamp()).Scan(&name, &csrf, &expires)
	if err != nil {
		return nil, notFound(err, "session")
	}
	u, err := s.UserByName(ctx, name)
	if err != nil {
		return nil, err
	}
	t, _ := time.Parse(time.RFC3339Nano, expires)
	return &Session{User: u, CSRF: csrf, ExpiresAt: t}, nil
}

// DeleteSession ends a session (a logout), and every expired one.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ? OR expires_at <= ?`, hash, s.stamp()); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}
