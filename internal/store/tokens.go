package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Token is an API token as its user lists it: never its secret, which is
// stored hashed and shown once, when made.
type Token struct {
	ID         int64
	UserID     int64
	Name       string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used
	ExpiresAt  time.Time // zero: never expires
}

// CreateToken stores the hash of a new token of user userID.
func (s *Store) CreateToken(ctx context.Context, userID int64, name, hash string, expires time.Time) (*Token, error) {
	now := s.now()
	var exp sql.NullString
	if !expires.IsZero() {
		exp = sql.NullString{String: expires.UTC().Format(timeFormat), Valid: true}
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO tokens (user_id, name, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		userID, name, hash, now.UTC().Format(timeFormat), exp)
	if err != nil {
		return nil, fmt.Errorf("create token %s: %w", name, err)
	}
	id, _ := res.LastInsertId()
	return &Token{ID: id, UserID: userID, Name: name, CreatedAt: now, ExpiresAt: expires}, nil
}

// Tokens lists a user's tokens, newest first.
func (s *Store) Tokens(ctx context.Context, userID int64) ([]Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, created_at, last_used_at, expires_at FROM tokens WHERE user_id = ? ORDER BY id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		t := Token{UserID: userID}
		var created, used, expires sql.NullString
		if err := rows.Scan(&t.ID, &t.Name, &created, &used, &expires); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		t.CreatedAt, t.LastUsedAt, t.ExpiresAt = parseTime(created), parseTime(used), parseTime(expires)
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken removes token id of user userID: it opens nothing from now
// on. Another user's token is ErrNotFound.
func (s *Store) RevokeToken(ctx context.Context, userID, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM tokens WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("token %d: %w", id, ErrNotFound)
	}
	return nil
}
