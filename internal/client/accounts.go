package client

import (
	"context"
	"fmt"
	"net/url"

	"github.com/nonstopdev/nonstop/internal/wire"
)

// Users lists every user (admins only).
func (c *Client) Users(ctx context.Context) ([]wire.User, error) {
	var out []wire.User
	return out, c.call(ctx, "GET", "/api/v1/users", nil, &out)
}

// CreateUser adds a user with a role in teams; the answer holds its first
// token, shown this once.
func (c *Client) CreateUser(ctx context.Context, req wire.CreateUserRequest) (*wire.NewUser, error) {
	var out wire.NewUser
	return &out, c.call(ctx, "POST", "/api/v1/users", req, &out)
}

// SetPassword sets user's password (the caller's own, or anyone's by an
// admin).
func (c *Client) SetPassword(ctx context.Context, user, password string) error {
	return c.call(ctx, "PUT", "/api/v1/users/"+url.PathEscape(user)+"/password", wire.PasswordRequest{Password: password}, nil)
}

// DeleteUser removes a user and its tokens.
func (c *Client) DeleteUser(ctx context.Context, name string) error {
	return c.call(ctx, "DELETE", "/api/v1/users/"+url.PathEscape(name), nil, nil)
}

// Teams lists the teams the caller may see (admins: all).
func (c *Client) Teams(ctx context.Context) ([]wire.Team, error) {
	var out []wire.Team
	return out, c.call(ctx, "GET", "/api/v1/teams", nil, &out)
}

// CreateTeam adds a team.
func (c *Client) CreateTeam(ctx context.Context, name string) (*wire.Team, error) {
	var out wire.Team
	return &out, c.call(ctx, "POST", "/api/v1/teams", wire.CreateTeamRequest{Name: name}, &out)
}

// AddTeamMember puts user in team.
func (c *Client) AddTeamMember(ctx context.Context, team, user string) error {
	return c.call(ctx, "POST", "/api/v1/teams/"+url.PathEscape(team)+"/members", wire.TeamMemberRequest{User: user}, nil)
}

// RemoveTeamMember takes user out of team.
func (c *Client) RemoveTeamMember(ctx context.Context, team, user string) error {
	return c.call(ctx, "DELETE", "/api/v1/teams/"+url.PathEscape(team)+"/members/"+url.PathEscape(user), nil, nil)
}

// Tokens lists the caller's tokens (never their secrets).
func (c *Client) Tokens(ctx context.Context) ([]wire.Token, error) {
	var out []wire.Token
	return out, c.call(ctx, "GET", "/api/v1/tokens", nil, &out)
}

// CreateToken makes a token for the caller, lasting expires (a Go
// duration; "": for good); its secret is in the answer, this once.
func (c *Client) CreateToken(ctx context.Context, name, expires string) (*wire.NewToken, error) {
	var out wire.NewToken
	return &out, c.call(ctx, "POST", "/api/v1/tokens", wire.CreateTokenRequest{Name: name, Expires: expires}, &out)
}

// RevokeToken revokes one of the caller's tokens.
func (c *Client) RevokeToken(ctx context.Context, id int64) error {
	return c.call(ctx, "DELETE", fmt.Sprintf("/api/v1/tokens/%d", id), nil, nil)
}

// Audit lists the audit log, newest first: of app ("": every app the
// caller may see), at most limit entries (0: the server's default).
func (c *Client) Audit(ctx context.Context, app string, limit int) ([]wire.AuditEntry, error) {
	q := url.Values{}
	if app != "" {
		q.Set("app", app)
	}
	if limit > 0 {
		q.Set("limit", fmt.Sprint(limit))
	}
	path := "/api/v1/audit"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out []wire.AuditEntry
	return out, c.call(ctx, "GET", path, nil, &out)
}
