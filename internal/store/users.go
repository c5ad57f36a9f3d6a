package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Role is what a user may do.
type Role string

const (
	RoleAdmin  Role = "admin"  // every app, every team, users and teams
	RoleMember Role = "member" // sees and acts on the apps of the user's teams
	RoleViewer Role = "viewer" // sees the apps of the user's teams; acts on none
)

// Valid reports whether r is a role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleMember || r == RoleViewer }

// CanAct reports whether the role may change anything.
func (r Role) CanAct() bool { return r == RoleAdmin || r == RoleMember }

// User is someone (or something) that acts through tokens.
type User struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Role  Role   `json:"role"`
	Teams []int64
}

// DefaultTeam is the team the first admin and its apps belong to.
const DefaultTeam = "default"

// Bootstrap creates the default team and the admin user, and stores the hash
// of the admin's first token, once. It reports whether it created them.
func (s *Store) Bootstrap(ctx context.Context, tokenHash string) (created bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		now := s.stamp()
		team, err := tx.ExecContext(ctx, `INSERT INTO teams (name, created_at) VALUES (?, ?)`, DefaultTeam, now)
		if err != nil {
			return err
		}
		teamID, _ := team.LastInsertId()
		user, err := tx.ExecContext(ctx, `INSERT INTO users (name, role, created_at) VALUES ('admin', 'admin', ?)`, now)
		if err != nil {
			return err
		}
		userID, _ := user.LastInsertId()
		if _, err := tx.ExecContext(ctx, `INSERT INTO team_members (team_id, user_id) VALUES (?, ?)`, teamID, userID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO tokens (user_id, name, hash, created_at) VALUES (?, 'admin', ?, ?)`, userID, tokenHash, now); err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("bootstrap admin: %w", err)
	}
	return created, nil
}

// UserByTokenHash finds the user a token acts as, and notes the token's
// use. An expired token is not found.
func (s *Store) UserByTokenHash(ctx context.Context, hash string) (*User, error) {
	var u User
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT u.id, u.name, u.role FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ? AND (t.expires_at IS NULL OR t.expires_at > ?)`, hash, s.stamp()).
			Scan(&u.ID, &u.Name, &u.Role)
		if err != nil {
			return notFound(err, "token")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET last_used_at = ? WHERE hash = ?`, s.stamp(), hash); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT team_id FROM team_members WHERE user_id = ?`, u.ID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			u.Teams = append(u.Teams, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// CreateUser adds a user in the given team with a first token (tests and
// the admin commands to come).
func (s *Store) CreateUser(ctx context.Context, name string, role Role, team, tokenHash string) (*User, error) {
	u := &User{Name: name, Role: role}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.stamp()
		var teamID int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM teams WHERE name = ?`, team).Scan(&teamID)
		if err == sql.ErrNoRows {
			res, err := tx.ExecContext(ctx, `INSERT INTO teams (name, created_at) VALUES (?, ?)`, team, now)
			if err != nil {
				return err
			}
			teamID, _ = res.LastInsertId()
		} else if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO users (name, role, created_at) VALUES (?, ?, ?)`, name, role, now)
		if err != nil {
			return err
		}
		u.ID, _ = res.LastInsertId()
		u.Teams = []int64{teamID}
		if _, err := tx.ExecContext(ctx, `INSERT INTO team_members (team_id, user_id) VALUES (?, ?)`, teamID, u.ID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO tokens (user_id, name, hash, created_at) VALUES (?, ?, ?, ?)`, u.ID, name, tokenHash, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create user %s: %w", name, err)
	}
	return u, nil
}

// TeamID returns the id of a team by name.
func (s *Store) TeamID(ctx context.Context, name string) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT id FROM teams WHERE name = ?`, name).Scan(&id)
	return id, notFound(err, "team "+name)
}

// CanAccess reports whether the user may see and act on an app of teamID.
func (u *User) CanAccess(teamID int64) bool {
	if u.Role == RoleAdmin {
		return true
	}
	for _, t := range u.Teams {
		if t == teamID {
			return true
		}
	}
	return false
}
