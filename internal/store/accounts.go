package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// UserInfo is a user as admins list them.
type UserInfo struct {
	ID          int64
	Name        string
	Role        Role
	Teams       []string
	HasPassword bool
	CreatedAt   time.Time
}

// AddUser adds a user with a role, in the named teams (each must exist).
// A taken name is ErrConflict, a missing team ErrNotFound.
func (s *Store) AddUser(ctx context.Context, name string, role Role, teams []string) (*User, error) {
	if !role.Valid() {
		return nil, fmt.Errorf("role %q: want admin, member or viewer", role)
	}
	u := &User{Name: name, Role: role}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var taken int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE name = ?`, name).Scan(&taken); err != nil {
			return err
		}
		if taken > 0 {
			return fmt.Errorf("user %q already exists: %w", name, ErrConflict)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO users (name, role, created_at) VALUES (?, ?, ?)`, name, role, s.stamp())
		if err != nil {
			return err
		}
		u.ID, _ = res.LastInsertId()
		for _, team := range teams {
			id, err := teamIDIn(ctx, tx, team)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO team_members (team_id, user_id) VALUES (?, ?)`, id, u.ID); err != nil {
				return err
			}
			u.Teams = append(u.Teams, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("add user %s: %w", name, err)
	}
	return u, nil
}

// Users lists every user, by name.
func (s *Store) Users(ctx context.Context) ([]UserInfo, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT u.id, u.name, u.role, u.password_hash != '', u.created_at,
		COALESCE((SELECT GROUP_CONCAT(t.name, ',') FROM team_members m JOIN teams t ON t.id = m.team_id WHERE m.user_id = u.id), '')
		FROM users u ORDER BY u.name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []UserInfo
	for rows.Next() {
		var u UserInfo
		var created sql.NullString
		var teams string
		if err := rows.Scan(&u.ID, &u.Name, &u.Role, &u.HasPassword, &created, &teams); err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		u.CreatedAt = parseTime(created)
		if teams != "" {
			u.Teams = strings.Split(teams, ",")
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UserByName returns a user with its teams.
func (s *Store) UserByName(ctx context.Context, name string) (*User, error) {
	u := &User{Name: name}
	err := s.db.QueryRowContext(ctx, `SELECT id, role FROM users WHERE name = ?`, name).Scan(&u.ID, &u.Role)
	if err != nil {
		return nil, notFound(err, "user "+name)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT team_id FROM team_members WHERE user_id = ?`, u.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var t int64
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		u.Teams = append(u.Teams, t)
	}
	return u, rows.Err()
}

// DeleteUser removes a user, its tokens and memberships. The last admin
// cannot be removed (ErrConflict): someone must be able to add users.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var role Role
		if err := tx.QueryRowContext(ctx, `SELECT role FROM users WHERE name = ?`, name).Scan(&role); err != nil {
			return notFound(err, "user "+name)
		}
		if role == RoleAdmin {
			var admins int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role = 'admin'`).Scan(&admins); err != nil {
				return err
			}
			if admins == 1 {
				return fmt.Errorf("user %s is the last admin; make another admin first: %w", name, ErrConflict)
			}
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM users WHERE name = ?`, name)
		return err
	})
}

// SetPassword stores the hash of a user's password ("" removes it).
func (s *Store) SetPassword(ctx context.Context, name, hash string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE name = ?`, hash, name)
	if err != nil {
		return fmt.Errorf("set the password of %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("user %s: %w", name, ErrNotFound)
	}
	return nil
}

// PasswordHash returns the stored hash of a user's password ("": none).
func (s *Store) PasswordHash(ctx context.Context, name string) (string, error) {
	var hash string
	err := s.db.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE name = ?`, name).Scan(&hash)
	return hash, notFound(err, "user "+name)
}

// Team is a group of users that owns apps.
type Team struct {
	ID        int64
	Name      string
	Members   []string
	CreatedAt time.Time
}

// CreateTeam adds a team; a taken name is ErrConflict.
func (s *Store) CreateTeam(ctx context.Context, name string) (*Team, error) {
	t := &Team{Name: name}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := teamIDIn(ctx, tx, name); err == nil {
			return fmt.Errorf("team %q already exists: %w", name, ErrConflict)
		}
		now := s.now()
		res, err := tx.ExecContext(ctx, `INSERT INTO teams (name, created_at) VALUES (?, ?)`, name, now.UTC().Format(timeFormat))
		if err != nil {
			return err
		}
		t.ID, _ = res.LastInsertId()
		t.CreatedAt = now
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create team %s: %w", name, err)
	}
	return t, nil
}

// Teams lists every team with its members' names, by name.
func (s *Store) Teams(ctx context.Context) ([]Team, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT t.id, t.name, t.created_at,
		COALESCE((SELECT GROUP_CONCAT(u.name, ',') FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = t.id), '')
		FROM teams t ORDER BY t.name`)
	if err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	defer rows.Close()
	var out []Team
	for rows.Next() {
		var t Team
		var created sql.NullString
		var members string
		if err := rows.Scan(&t.ID, &t.Name, &created, &members); err != nil {
			return nil, fmt.Errorf("list teams: %w", err)
		}
		t.CreatedAt = parseTime(created)
		if members != "" {
			t.Members = strings.Split(members, ",")
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// AddTeamMember puts a user in a team (again: no change).
func (s *Store) AddTeamMember(ctx context.Context, team, user string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		tid, uid, err := memberIDs(ctx, tx, team, user)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT OR IGNORE INTO team_members (team_id, user_id) VALUES (?, ?)`, tid, uid)
		return err
	})
}

// RemoveTeamMember takes a user out of a team; one not in it is ErrNotFound.
func (s *Store) RemoveTeamMember(ctx context.Context, team, user string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		tid, uid, err := memberIDs(ctx, tx, team, user)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM team_members WHERE team_id = ? AND user_id = ?`, tid, uid)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("user %s is not in team %s: %w", user, team, ErrNotFound)
		}
		return nil
	})
}

func memberIDs(ctx context.Context, tx *sql.Tx, team, user string) (teamID, userID int64, err error) {
	if teamID, err = teamIDIn(ctx, tx, team); err != nil {
		return 0, 0, err
	}
	if err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE name = ?`, user).Scan(&userID); err != nil {
		return 0, 0, notFound(err, "user "+user)
	}
	return teamID, userID, nil
}

func teamIDIn(ctx context.Context, tx *sql.Tx, name string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM teams WHERE name = ?`, name).Scan(&id)
	return id, notFound(err, "team "+name)
}
