package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nonstopdev/nonstop/internal/spec"
)

// ReleaseStatus is a release's place in the app's history.
type ReleaseStatus string

const (
	ReleasePending ReleaseStatus = "pending" // being rolled out
	ReleaseLive    ReleaseStatus = "live"    // serving
	ReleaseRetired ReleaseStatus = "retired" // was live, replaced since
	ReleaseFailed  ReleaseStatus = "failed"  // its rollout failed: it never served alone
)

// Release is an immutable artifact plus its configuration.
type Release struct {
	ID      int64  `json:"-"`
	AppID   int64  `json:"-"`
	Version int    `json:"version"`
	Build   int    `json:"build"`
	Dir     string `json:"-"`
	// Image is what container runtimes run: a pinned REPO@sha256:... (or a
	// local image ID when no registry is set); "" for the process runtime.
	Image       string            `json:"image,omitempty"`
	Spec        spec.Spec         `json:"spec"`
	Env         map[string]string `json:"-"`
	Description string            `json:"description"`
	Status      ReleaseStatus     `json:"status"`
	CreatedAt   time.Time         `json:"created_at"`
}

const releaseColumns = `id, app_id, version, build, dir, spec, env, description, status, created_at, image`

func scanRelease(row interface{ Scan(...any) error }) (*Release, error) {
	var r Release
	var specJSON, envJSON string
	var created sql.NullString
	if err := row.Scan(&r.ID, &r.AppID, &r.Version, &r.Build, &r.Dir, &specJSON, &envJSON, &r.Description, &r.Status, &created, &r.Image); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(specJSON), &r.Spec); err != nil {
		return nil, fmt.Errorf("release v%d spec: %w", r.Version, err)
	}
	if err := json.Unmarshal([]byte(envJSON), &r.Env); err != nil {
		return nil, fmt.Errorf("release v%d env: %w", r.Version, err)
	}
	r.CreatedAt = parseTime(created)
	return &r, nil
}

// CreateRelease records a new release with the next version number.
func (s *Store) CreateRelease(ctx context.Context, appID int64, build int, dir string, sp spec.Spec, env map[string]string, description string) (*Release, error) {
	return s.CreateImageRelease(ctx, appID, build, dir, "", sp, env, description)
}

// CreateImageRelease records a new release that runs image (see Release.Image).
func (s *Store) CreateImageRelease(ctx context.Context, appID int64, build int, dir, image string, sp spec.Spec, env map[string]string, description string) (*Release, error) {
	specJSON, err := json.Marshal(sp)
	if err != nil {
		return nil, fmt.Errorf("encode spec: %w", err)
	}
	if env == nil {
		env = map[string]string{}
	}
	envJSON, _ := json.Marshal(env)
	var id int64
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var version int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM releases WHERE app_id = ?`, appID).Scan(&version); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO releases (app_id, version, build, dir, spec, env, description, status, created_at, image) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
			appID, version, build, dir, string(specJSON), string(envJSON), description, s.stamp(), image)
		if err != nil {
			return err
		}
		id, _ = res.LastInsertId()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create release: %w", err)
	}
	r, err := scanRelease(s.db.QueryRowContext(ctx, `SELECT `+releaseColumns+` FROM releases WHERE id = ?`, id))
	return r, notFound(err, "new release")
}

// Release returns one release of an app.
func (s *Store) Release(ctx context.Context, appID int64, version int) (*Release, error) {
	r, err := scanRelease(s.db.QueryRowContext(ctx, `SELECT `+releaseColumns+` FROM releases WHERE app_id = ? AND version = ?`, appID, version))
	if err != nil {
		return nil, notFound(err, fmt.Sprintf("release v%d", version))
	}
	return r, nil
}

// NewestRelease returns the app's release with the highest version
// (ErrNotFound when it has none).
func (s *Store) NewestRelease(ctx context.Context, appID int64) (*Release, error) {
	r, err := scanRelease(s.db.QueryRowContext(ctx, `SELECT `+releaseColumns+` FROM releases WHERE app_id = ? ORDER BY version DESC LIMIT 1`, appID))
	if err != nil {
		return nil, notFound(err, "newest release")
	}
	return r, nil
}

// Releases lists an app's releases, newest first.
func (s *Store) Releases(ctx context.Context, appID int64) ([]*Release, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+releaseColumns+` FROM releases WHERE app_id = ? ORDER BY version DESC`, appID)
	if err != nil {
		return nil, fmt.Errorf("list releases: %w", err)
	}
	defer rows.Close()
	var out []*Release
	for rows.Next() {
		r, err := scanRelease(rows)
		if err != nil {
			return nil, fmt.Errorf("list releases: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetReleaseStatus records a release's new place in history.
func (s *Store) SetReleaseStatus(ctx context.Context, appID int64, version int, status ReleaseStatus) error {
	_, err := s.db.ExecContext(ctx, `UPDATE releases SET status = ? WHERE app_id = ? AND version = ?`, status, appID, version)
	if err != nil {
		return fmt.Errorf("set release v%d %s: %w", version, status, err)
	}
	return nil
}

// MakeLive records that version now serves: it becomes the app's live
// release, the one before it is retired, and the app is running.
func (s *Store) MakeLive(ctx context.Context, appID int64, version int) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE releases SET status = 'retired' WHERE app_id = ? AND status = 'live' AND version != ?`, appID, version); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE releases SET status = 'live' WHERE app_id = ? AND version = ?`, appID, version); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE apps SET live_release = ?, state = 'running', updated_at = ? WHERE id = ?`, version, s.stamp(), appID)
		return err
	})
}
