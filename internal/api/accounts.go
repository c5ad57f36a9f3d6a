package api

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/nonstopdev/nonstop/internal/auth"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/wire"
)

// People, teams and tokens: admins manage users and teams; everyone
// manages their own tokens.

// accountNameRE is what a user's or a team's name may be.
var accountNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

func validAccountName(what, name string) error {
	if !accountNameRE.MatchString(name) {
		return fmt.Errorf("%s name %q: use 1 to 63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit: %w", what, name, errBadRequest)
	}
	return nil
}

// maxTokenLife bounds how long a token made by the API may last.
const maxTokenLife = 366 * 24 * time.Hour

func (a *API) listUsers(w http.ResponseWriter, r *http.Request, u *store.User) error {
	users, err := a.Store.Users(r.Context())
	if err != nil {
		return err
	}
	out := []wire.User{}
	for _, x := range users {
		out = append(out, wireUser(x))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func wireUser(x store.UserInfo) wire.User {
	teams := x.Teams
	if teams == nil {
		teams = []string{}
	}
	slices.Sort(teams)
	return wire.User{Name: x.Name, Role: string(x.Role), Teams: teams, HasPassword: x.HasPassword, CreatedAt: x.CreatedAt}
}

// createUser adds a user and makes its first token, shown once.
func (a *API) createUser(w http.ResponseWriter, r *http.Request, u *store.User) error {
	var req wire.CreateUserRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if err := validAccountName("user", req.Name); err != nil {
		return err
	}
	note(w, "", "user "+req.Name)
	role := store.Role(req.Role)
	if req.Role == "" {
		role = store.RoleMember
	}
	if !role.Valid() {
		return fmt.Errorf("role %q: want admin, member or viewer: %w", req.Role, errBadRequest)
	}
	var hash string
	if req.Password != "" {
		var err error
		if hash, err = hashPassword(req.Password); err != nil {
			return err
		}
	}
	created, err := a.Store.AddUser(r.Context(), req.Name, role, req.Teams)
	if err != nil {
		return err
	}
	if hash != "" {
		if err := a.Store.SetPassword(r.Context(), req.Name, hash); err != nil {
			return err
		}
	}
	secret := auth.NewToken()
	if _, err := a.Store.CreateToken(r.Context(), created.ID, req.Name, auth.Hash(secret), time.Time{}); err != nil {
		return err
	}
	a.Logger.Info("user created", "user", req.Name, "role", role, "teams", req.Teams, "by", u.Name)
	teams := append([]string{}, req.Teams...)
	writeJSON(w, http.StatusCreated, wire.NewUser{User: wireUser(store.UserInfo{Name: req.Name, Role: role, Teams: teams, HasPassword: hash != "", CreatedAt: time.Now().UTC()}), Token: secret})
	return nil
}

// setPassword sets a user's password (their own, or anyone's by an admin).
func (a *API) setPassword(w http.ResponseWriter, r *http.Request, u *store.User) error {
	var req wire.PasswordRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	name := r.PathValue("user")
	hash, err := hashPassword(req.Password)
	if err != nil {
		return err
	}
	if err := a.Store.SetPassword(r.Context(), name, hash); err != nil {
		return err
	}
	a.Logger.Info("password set", "user", name, "by", u.Name)
	writeJSON(w, http.StatusOK, wire.Result{Result: "password of " + name + " set"})
	return nil
}

// hashPassword hashes a password that keeps the rule; one that does not is
// a bad request.
func hashPassword(pw string) (string, error) {
	hash, err := auth.HashPassword(pw)
	if errors.Is(err, auth.ErrPasswordRule) {
		return "", fmt.Errorf("password: %v: %w", err, errBadRequest)
	}
	return hash, err
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request, u *store.User) error {
	name := r.PathValue("user")
	if err := a.Store.DeleteUser(r.Context(), name); err != nil {
		return err
	}
	a.Logger.Info("user deleted", "user", name, "by", u.Name)
	writeJSON(w, http.StatusOK, wire.Deleted{Deleted: name})
	return nil
}

// listTeams shows admins every team, others the teams they are in.
func (a *API) listTeams(w http.ResponseWriter, r *http.Request, u *store.User) error {
	teams, err := a.Store.Teams(r.Context())
	if err != nil {
		return err
	}
	out := []wire.Team{}
	for _, t := range teams {
		if u.Role != store.RoleAdmin && !slices.Contains(u.Teams, t.ID) {
			continue
		}
		members := t.Members
		if members == nil {
			members = []string{}
		}
		slices.Sort(members)
		out = append(out, wire.Team{Name: t.Name, Members: members, CreatedAt: t.CreatedAt})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) createTeam(w http.ResponseWriter, r *http.Request, u *store.User) error {
	var req wire.CreateTeamRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if err := validAccountName("team", req.Name); err != nil {
		return err
	}
	note(w, "", "team "+req.Name)
	t, err := a.Store.CreateTeam(r.Context(), req.Name)
	if err != nil {
		return err
	}
	a.Logger.Info("team created", "team", req.Name, "by", u.Name)
	writeJSON(w, http.StatusCreated, wire.Team{Name: t.Name, Members: []string{}, CreatedAt: t.CreatedAt})
	return nil
}

func (a *API) addTeamMember(w http.ResponseWriter, r *http.Request, u *store.User) error {
	var req wire.TeamMemberRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	team := r.PathValue("team")
	note(w, "", "team "+team+" "+req.User)
	if err := a.Store.AddTeamMember(r.Context(), team, req.User); err != nil {
		return err
	}
	a.Logger.Info("team member added", "team", team, "user", req.User, "by", u.Name)
	writeJSON(w, http.StatusOK, wire.Result{Result: fmt.Sprintf("%s is in team %s", req.User, team)})
	return nil
}

func (a *API) removeTeamMember(w http.ResponseWriter, r *http.Request, u *store.User) error {
	team, user := r.PathValue("team"), r.PathValue("user")
	if err := a.Store.RemoveTeamMember(r.Context(), team, user); err != nil {
		return err
	}
	a.Logger.Info("team member removed", "team", team, "user", user, "by", u.Name)
	writeJSON(w, http.StatusOK, wire.Result{Result: fmt.Sprintf("%s is no longer in team %s", user, team)})
	return nil
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request, u *store.User) error {
	tokens, err := a.Store.Tokens(r.Context(), u.ID)
	if err != nil {
		return err
	}
	out := []wire.Token{}
	for _, t := range tokens {
		out = append(out, wireToken(t))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func wireToken(t store.Token) wire.Token {
	out := wire.Token{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt}
	if !t.LastUsedAt.IsZero() {
		out.LastUsedAt = &t.LastUsedAt
	}
	if !t.ExpiresAt.IsZero() {
		out.ExpiresAt = &t.ExpiresAt
	}
	return out
}

// createToken makes a token for the caller, shown once.
func (a *API) createToken(w http.ResponseWriter, r *http.Request, u *store.User) error {
	var req wire.CreateTokenRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if req.Name == "" {
		req.Name = "token"
	}
	if len(req.Name) > 100 {
		return fmt.Errorf("token name: at most 100 characters: %w", errBadRequest)
	}
	var expires time.Time
	if req.Expires != "" {
		d, err := time.ParseDuration(req.Expires)
		if err != nil || d <= 0 || d > maxTokenLife {
			return fmt.Errorf("expires %q: want a duration between 1s and %s, such as 720h: %w", req.Expires, maxTokenLife, errBadRequest)
		}
		expires = time.Now().UTC().Add(d)
	}
	secret := auth.NewToken()
	t, err := a.Store.CreateToken(r.Context(), u.ID, req.Name, auth.Hash(secret), expires)
	if err != nil {
		return err
	}
	a.Logger.Info("token created", "user", u.Name, "token", t.ID, "name", t.Name)
	writeJSON(w, http.StatusCreated, wire.NewToken{Token: wireToken(*t), Secret: secret})
	return nil
}

// revokeToken revokes one of the caller's tokens; it opens nothing from
// the next request on.
func (a *API) revokeToken(w http.ResponseWriter, r *http.Request, u *store.User) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return fmt.Errorf("token id %q is not a number: %w", r.PathValue("id"), errBadRequest)
	}
	if err := a.Store.RevokeToken(r.Context(), u.ID, id); err != nil {
		return err
	}
	a.Logger.Info("token revoked", "user", u.Name, "token", id)
	writeJSON(w, http.StatusOK, wire.Result{Result: fmt.Sprintf("token %d revoked", id)})
	return nil
}
