package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Hold is an app's request hold as recorded: while it is set, the proxy
// holds the app's new requests (for instance during a migration), at most
// MaxQueue at once and none longer than MaxWait.
type Hold struct {
	MaxWait  time.Duration `json:"max_wait"`
	MaxQueue int           `json:"max_queue"`
	Since    time.Time     `json:"since"`
}

// SetAppHold records that the app's requests are held as h, or, when h is
// nil, that they are not. An unknown app is ErrNotFound.
func (s *Store) SetAppHold(ctx context.Context, appID int64, h *Hold) error {
	var v sql.NullString
	if h != nil {
		data, err := json.Marshal(h)
		if err != nil {
			return fmt.Errorf("set app hold: %w", err)
		}
		v = sql.NullString{String: string(data), Valid: true}
	}
	res, err := s.db.ExecContext(ctx, `UPDATE apps SET hold = ?, updated_at = ? WHERE id = ?`, v, s.stamp(), appID)
	if err != nil {
		return fmt.Errorf("set app hold: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("set hold of app #%d: %w", appID, ErrNotFound)
	}
	return nil
}
