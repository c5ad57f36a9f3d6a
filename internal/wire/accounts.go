package wire

import "time"

// Roles a user can have.
const (
	RoleAdmin  = "admin"  // every app and team, users and teams
	RoleMember = "member" // sees and acts on the apps of the user's teams
	RoleViewer = "viewer" // sees the apps of the user's teams; acts on none
)

// User is a user as admins list them (GET /api/v1/users).
type User struct {
	Name        string    `json:"name"`
	Role        string    `json:"role"`
	Teams       []string  `json:"teams"`
	HasPassword bool      `json:"has_password"`
	CreatedAt   time.Time `json:"created_at"`
}

// CreateUserRequest is the body of POST /api/v1/users.
type CreateUserRequest struct {
	Name  string   `json:"name"`
	Role  string   `json:"role"` // "": member
	Teams []string `json:"teams"`
	// Password, when set, lets the user log in to the dashboard.
	Password string `json:"password,omitempty"`
}

// PasswordRequest is the body of PUT /api/v1/users/{user}/password.
type PasswordRequest struct {
	Password string `json:"password"`
}

// NewUser answers POST /api/v1/users: the user and its first API token,
// shown this once.
type NewUser struct {
	User
	Token string `json:"token"`
}

// Team is a team with its members (GET /api/v1/teams).
type Team struct {
	Name      string    `json:"name"`
	Members   []string  `json:"members"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateTeamRequest is the body of POST /api/v1/teams.
type CreateTeamRequest struct {
	Name string `json:"name"`
}

// TeamMemberRequest is the body of POST /api/v1/teams/{team}/members.
type TeamMemberRequest struct {
	User string `json:"user"`
}

// Token is an API token as its user lists it: never its secret.
type Token struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
}

// CreateTokenRequest is the body of POST /api/v1/tokens.
type CreateTokenRequest struct {
	Name string `json:"name"`
	// Expires is how long the token lasts, as a Go duration ("720h");
	// "": it does not expire.
	Expires string `json:"expires,omitempty"`
}

// NewToken answers POST /api/v1/tokens: the token's secret, shown this once.
type NewToken struct {
	Token
	Secret string `json:"token"`
}

// AuditEntry is one line of the audit log (GET /api/v1/audit): who did
// (or tried) what, on which app, answered how, from where.
type AuditEntry struct {
	Time   time.Time `json:"time"`
	User   string    `json:"user"`
	Action string    `json:"action"`
	App    string    `json:"app,omitempty"`
	Target string    `json:"target,omitempty"`
	Status int       `json:"status"`
	Addr   string    `json:"addr,omitempty"`
}

// LoginRequest is the body of POST /api/v1/login.
type LoginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// Session answers POST /api/v1/login: who is logged in, and the CSRF
// token every state-changing request of the session sends in the
// X-CSRF-Token header (the session itself is an HttpOnly cookie).
type Session struct {
	Name string `json:"name"`
	Role string `json:"role"`
	CSRF string `json:"csrf"`
}
