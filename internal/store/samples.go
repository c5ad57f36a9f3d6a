package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Sample is what the proxy counted for one release of an app over Step
// from At: the traffic history that the dashboard charts. Rows are
// written only for releases that had traffic, so an idle app costs
// nothing; each is about 60 bytes on disk.
type Sample struct {
	AppID      int64
	Release    int
	Step       time.Duration // what the sample covers (whole seconds)
	At         time.Time     // its start (whole seconds)
	Requests   int64
	Errors     int64 // answered 5xx
	ConnErrors int64 // no backend could be reached
	// Latency counts the requests by latency bucket (the proxy's
	// LatencyBuckets, the last one for the rest); stored as varints.
	Latency []int64
}

// AddSamples records samples. A sample already recorded (same app, step,
// start and release) is kept as it was: rolling up again is harmless.
func (s *Store) AddSamples(ctx context.Context, samples []Sample) error {
	if len(samples) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("add samples: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO samples (app_id, step, at, release, requests, errors, conn_errors, latency) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("add samples: %w", err)
	}
	defer stmt.Close()
	for _, x := range samples {
		if _, err := stmt.ExecContext(ctx, x.AppID, int64(x.Step/time.Second), x.At.Unix(), x.Release, x.Requests, x.Errors, x.ConnErrors, encodeCounts(x.Latency)); err != nil {
			return fmt.Errorf("add samples: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("add samples: %w", err)
	}
	return nil
}

// Samples returns the samples of step that start in [since, until), of
// app appID (0: every app), oldest first.
func (s *Store) Samples(ctx context.Context, appID int64, step time.Duration, since, until time.Time) ([]Sample, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT app_id, at, release, requests, errors, conn_errors, latency FROM samples
		WHERE step = ? AND at >= ? AND at < ? AND (? = 0 OR app_id = ?) ORDER BY at, app_id, release`,
		int64(step/time.Second), since.Unix(), until.Unix(), appID, appID)
	if err != nil {
		return nil, fmt.Errorf("samples: %w", err)
	}
	defer rows.Close()
	var out []Sample
	for rows.Next() {
		x := Sample{Step: step}
		var at int64
		var lat []byte
		if err := rows.Scan(&x.AppID, &at, &x.Release, &x.Requests, &x.Errors, &x.ConnErrors, &lat); err != nil {
			return nil, fmt.Errorf("samples: %w", err)
		}
		x.At = time.Unix(at, 0).UTC()
		if x.Latency, err = decodeCounts(lat); err != nil {
			return nil, fmt.Errorf("sample of app %d at %s: %w", x.AppID, x.At, err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// PruneSamples deletes the samples of step that start before before, and
// returns how many.
func (s *Store) PruneSamples(ctx context.Context, step time.Duration, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM samples WHERE step = ? AND at < ?`, int64(step/time.Second), before.Unix())
	if err != nil {
		return 0, fmt.Errorf("prune samples: %w", err)
	}
	return res.RowsAffected()
}

func encodeCounts(counts []int64) []byte {
	b := make([]byte, 0, len(counts)+2)
	for _, n := range counts {
		b = binary.AppendUvarint(b, uint64(max(n, 0)))
	}
	return b
}

func decodeCounts(b []byte) ([]int64, error) {
	var out []int64
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, errors.New("latency counts: bad varint")
		}
		out = append(out, int64(n))
		b = b[k:]
	}
	return out, nil
}
