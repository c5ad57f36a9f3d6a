package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// AppState is whether an app is meant to be serving.
type AppState string

const (
	AppNew     AppState = "new"     // created, never deployed
	AppRunning AppState = "running" // its live release is meant to be serving
	AppStopped AppState = "stopped" // instances down, maintenance page served
)

// App is a named service.
type App struct {
	ID          int64             `json:"-"`
	Name        string            `json:"name"`
	TeamID      int64             `json:"-"`
	Domains     []string          `json:"domains"`
	Env         map[string]string `json:"-"`
	State       AppState          `json:"state"`
	LiveRelease int               `json:"live_release"`
	// Instances overrides the spec's instance count once the app was scaled (0: the spec's).
	Instances int `json:"instances,omitempty"`
	// Hold, when set, says the proxy holds the app's incoming requests.
	Hold      *Hold     `json:"hold,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Source is where the app's code comes from, for webhooks and polling.
	Source Source `json:"source"`
	// WebhookSecret checks the app's webhooks; never shown but by `apps webhook`.
	WebhookSecret string `json:"-"`
}

// Source is where an app's code comes from and which branch deploys.
type Source struct {
	Repo   string        `json:"repo,omitempty"`
	Branch string        `json:"branch"`
	Poll   time.Duration `json:"poll,omitempty"` // 0: not polled
}

const appColumns = `id, name, team_id, domains, env, state, live_release, instances, hold, created_at, repo, branch, poll_every, webhook_secret`

func scanApp(row interface{ Scan(...any) error }) (*App, error) {
	var a App
	var domains, env string
	var hold, created sql.NullString
	var poll int64
	if err := row.Scan(&a.ID, &a.Name, &a.TeamID, &domains, &env, &a.State, &a.LiveRelease, &a.Instances, &hold, &created,
		&a.Source.Repo, &a.Source.Branch, &poll, &a.WebhookSecret); err != nil {
		return nil, err
	}
	a.Source.Poll = time.Duration(poll)
	if err := json.Unmarshal([]byte(domains), &a.Domains); err != nil {
		return nil, fmt.Errorf("app %s domains: %w", a.Name, err)
	}
	if err := json.Unmarshal([]byte(env), &a.Env); err != nil {
		return nil, fmt.Errorf("app %s env: %w", a.Name, err)
	}
	if hold.Valid {
		a.Hold = &Hold{}
		if err := json.Unmarshal([]byte(hold.String), a.Hold); err != nil {
			return nil, fmt.Errorf("app %s hold: %w", a.Name, err)
		}
	}
	a.CreatedAt = parseTime(created)
	return &a, nil
}

// CreateApp adds an app owned by teamID. A taken name or domain is ErrConflict.
func (s *Store) CreateApp(ctx context.Context, name string, teamID int64, domains []string) (*App, error) {
	if domains == nil {
		domains = []string{}
	}
	d, _ := json.Marshal(domains)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM apps WHERE name = ?`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("app %q already exists: %w", name, ErrConflict)
		}
		if err := checkDomainsFree(ctx, tx, name, domains); err != nil {
			return err
		}
		now := s.stamp()
		_, err := tx.ExecContext(ctx, `INSERT INTO apps (name, team_id, domains, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`, name, teamID, string(d), now, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create app %s: %w", name, err)
	}
	return s.App(ctx, name)
}

func checkDomainsFree(ctx context.Context, tx *sql.Tx, app string, domains []string) error {
	rows, err := tx.QueryContext(ctx, `SELECT name, domains FROM apps WHERE name != ?`, app)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var other, raw string
		if err := rows.Scan(&other, &raw); err != nil {
			return err
		}
		var taken []string
		json.Unmarshal([]byte(raw), &taken)
		for _, t := range taken {
			for _, d := range domains {
				if strings.EqualFold(t, d) {
					return fmt.Errorf("domain %s is already served by app %s: %w", d, other, ErrConflict)
				}
			}
		}
	}
	return rows.Err()
}

// App returns an app by name.
func (s *Store) App(ctx context.Context, name string) (*App, error) {
	a, err := scanApp(s.db.QueryRowContext(ctx, `SELECT `+appColumns+` FROM apps WHERE name = ?`, name))
	if err != nil {
		return nil, notFound(err, fmt.Sprintf("app %q", name))
	}
	return a, nil
}

// Apps lists every app, by name.
func (s *Store) Apps(ctx context.Context) ([]*App, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+appColumns+` FROM apps ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list apps: %w", err)
	}
	defer rows.Close()
	var apps []*App
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, fmt.Errorf("list apps: %w", err)
		}
		apps = append(apps, a)
	}
	return apps, rows.Err()
}

// DeleteApp removes an app and everything recorded about it.
func (s *Store) DeleteApp(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM apps WHERE name = ?`, name)
		if err != nil {
			return fmt.Errorf("delete app %s: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("app %q: %w", name, ErrNotFound)
		}
		return nil
	})
}

// SetAppDomains replaces an app's domains.
func (s *Store) SetAppDomains(ctx context.Context, name string, domains []string) error {
	d, _ := json.Marshal(domains)
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := checkDomainsFree(ctx, tx, name, domains); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE apps SET domains = ?, updated_at = ? WHERE name = ?`, string(d), s.stamp(), name)
		return err
	})
}

// SetAppState records whether the app is meant to serve.
func (s *Store) SetAppState(ctx context.Context, appID int64, state AppState) error {
	_, err := s.db.ExecContext(ctx, `UPDATE apps SET state = ?, updated_at = ? WHERE id = ?`, state, s.stamp(), appID)
	if err != nil {
		return fmt.Errorf("set app state %s: %w", state, err)
	}
	return nil
}

// SetAppInstances records the instance count the app was scaled to.
func (s *Store) SetAppInstances(ctx context.Context, appID int64, n int) error {
	_, err := s.db.ExecContext(ctx, `UPDATE apps SET instances = ?, updated_at = ? WHERE id = ?`, n, s.stamp(), appID)
	if err != nil {
		return fmt.Errorf("set app instances: %w", err)
	}
	return nil
}

// AppByID returns an app by id.
func (s *Store) AppByID(ctx context.Context, id int64) (*App, error) {
	a, err := scanApp(s.db.QueryRowContext(ctx, `SELECT `+appColumns+` FROM apps WHERE id = ?`, id))
	if err != nil {
		return nil, notFound(err, fmt.Sprintf("app #%d", id))
	}
	return a, nil
}

// SetAppEnv replaces an app's environment overrides.
func (s *Store) SetAppEnv(ctx context.Context, appID int64, env map[string]string) error {
	if env == nil {
		env = map[string]string{}
	}
	e, _ := json.Marshal(env)
	_, err := s.db.ExecContext(ctx, `UPDATE apps SET env = ?, updated_at = ? WHERE id = ?`, string(e), s.stamp(), appID)
	if err != nil {
		return fmt.Errorf("set app env: %w", err)
	}
	return nil
}

// SetAppSource records where the app's code comes from.
func (s *Store) SetAppSource(ctx context.Context, appID int64, src Source) error {
	if src.Branch == "" {
		src.Branch = "main"
	}
	_, err := s.db.ExecContext(ctx, `UPDATE apps SET repo = ?, branch = ?, poll_every = ?, updated_at = ? WHERE id = ?`,
		src.Repo, src.Branch, int64(src.Poll), s.stamp(), appID)
	if err != nil {
		return fmt.Errorf("set app source: %w", err)
	}
	return nil
}

// SetWebhookSecret records the app's webhook secret.
func (s *Store) SetWebhookSecret(ctx context.Context, appID int64, secret string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE apps SET webhook_secret = ?, updated_at = ? WHERE id = ?`, secret, s.stamp(), appID)
	if err != nil {
		return fmt.Errorf("set webhook secret: %w", err)
	}
	return nil
}
