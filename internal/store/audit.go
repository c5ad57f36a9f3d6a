package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"
)

// AuditEntry is one thing someone did (or tried): a change through the
// API, a login.
type AuditEntry struct {
	ID     int64
	Time   time.Time
	User   string
	Action string // deploy, rollback, scale, env set, user create, login, ...
	App    string // the app it was on ("": none)
	Target string // what else it named: a user, a team, a token id
	Status int    // the HTTP status it was answered with
	Addr   string // where it came from
}

// keepAudit is how many entries the audit log keeps.
const keepAudit = 100000

// AddAudit records an entry, and forgets the oldest past keepAudit.
func (s *Store) AddAudit(ctx context.Context, e AuditEntry) error {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO audit (time, user, action, app, target, status, addr) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			e.Time.UTC().Format(timeFormat), e.User, e.Action, e.App, e.Target, e.Status, e.Addr)
		if err != nil {
			return fmt.Errorf("record audit entry: %w", err)
		}
		if id, _ := res.LastInsertId(); id%1000 == 0 {
			_, err = tx.ExecContext(ctx, `DELETE FROM audit WHERE id <= ?`, id-keepAudit)
		}
		return err
	})
}

// Audit lists entries newest first: of app ("" for all), at most limit,
// and only those keep says to (nil: all). keep runs with no query open,
// so it may read the store itself.
func (s *Store) Audit(ctx context.Context, app string, limit int, keep func(AuditEntry) bool) ([]AuditEntry, error) {
	var out []AuditEntry
	for before := int64(math.MaxInt64); len(out) < limit; {
		page, err := s.auditPage(ctx, app, before, 500)
		if err != nil {
			return nil, err
		}
		for _, e := range page {
			if len(out) < limit && (keep == nil || keep(e)) {
				out = append(out, e)
			}
		}
		if len(page) < 500 {
			break
		}
		before = page[len(page)-1].ID
	}
	return out, nil
}

// auditPage reads up to n entries older than id before, newest first.
func (s *Store) auditPage(ctx context.Context, app string, before int64, n int) ([]AuditEntry, error) {
	q := `SELECT id, time, user, action, app, target, status, addr FROM audit WHERE id < ?`
	args := []any{before}
	if app != "" {
		q += ` AND app = ?`
		args = append(args, app)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	rows, err := s.db.QueryContext(ctx, q, append(args, n)...)
	if err != nil {
		return nil, fmt.Errorf("read the audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var t sql.NullString
		if err := rows.Scan(&e.ID, &t, &e.User, &e.Action, &e.App, &e.Target, &e.Status, &e.Addr); err != nil {
			return nil, fmt.Errorf("read the audit log: %w", err)
		}
		e.Time = parseTime(t)
		out = append(out, e)
	}
	return out, rows.Err()
}
