package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/client"
	"github.com/nonstopdev/nonstop/internal/wire"
)

func TestAccounts_AnAdminAddsATeamAndAUserWhoseTokenWorksAtOnce(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	if _, err := s.admin.CreateTeam(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.admin.CreateTeam(ctx, "Shop!"); err == nil || !strings.Contains(err.Error(), "lowercase") {
		t.Errorf("a team named Shop!: %v, want the naming rule", err)
	}
	ann, err := s.admin.CreateUser(ctx, wire.CreateUserRequest{Name: "ann", Role: "member", Teams: []string{"shop"}})
	if err != nil {
		t.Fatal(err)
	}
	if ann.Token == "" || ann.Role != "member" || len(ann.Teams) != 1 {
		t.Fatalf("new user: %+v", ann)
	}
	if _, err := s.admin.CreateUser(ctx, wire.CreateUserRequest{Name: "eve", Role: "root"}); err == nil || !strings.Contains(err.Error(), "want admin, member or viewer") {
		t.Errorf("a user with role root: %v", err)
	}
	annC := client.New(s.api.URL, ann.Token)
	who, err := annC.Whoami(ctx)
	if err != nil || who.Name != "ann" || who.Role != "member" {
		t.Fatalf("whoami with ann's first token: %+v, %v", who, err)
	}
	// ann's apps go to her team, and only she (and admins) see them.
	if _, err := annC.CreateAppIn(ctx, "cart", "shop", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := annC.CreateAppIn(ctx, "sneaky", "default", nil); err == nil || !strings.Contains(err.Error(), "team default: not found") {
		t.Errorf("ann creating an app in a team not hers: %v", err)
	}
	teams, err := annC.Teams(ctx)
	if err != nil || len(teams) != 1 || teams[0].Name != "shop" {
		t.Errorf("ann's teams: %+v, %v", teams, err)
	}
	if _, err := annC.Users(ctx); err == nil || !strings.Contains(err.Error(), "only admins") {
		t.Errorf("ann listing users: %v", err)
	}
	users, err := s.admin.Users(ctx)
	if err != nil || len(users) != 2 {
		t.Fatalf("users: %+v, %v", users, err)
	}
	if err := s.admin.DeleteUser(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	if _, err := annC.Whoami(ctx); err == nil {
		t.Error("a deleted user's token still works")
	}
}

func TestTokens_MadeListedAndRevokedAtOnce(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	made, err := s.admin.CreateToken(ctx, "ci", "720h")
	if err != nil {
		t.Fatal(err)
	}
	if made.Secret == "" || made.ExpiresAt == nil || made.ExpiresAt.Before(time.Now().Add(719*time.Hour)) {
		t.Fatalf("new token: %+v", made)
	}
	ci := client.New(s.api.URL, made.Secret)
	if _, err := ci.Whoami(ctx); err != nil {
		t.Fatalf("the new token: %v", err)
	}
	list, err := s.admin.Tokens(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "ci" || list[0].LastUsedAt == nil {
		t.Fatalf("tokens: %+v, %v", list, err)
	}
	code, body, _ := s.raw("GET", "/api/v1/tokens", "Bearer "+s.token, nil)
	if code != http.StatusOK || strings.Contains(body, made.Secret) {
		t.Errorf("the token list shows a secret: %d %s", code, body)
	}
	if _, err := s.admin.CreateToken(ctx, "forever", "9999h"); err == nil || !strings.Contains(err.Error(), "between 1s and") {
		t.Errorf("a token lasting 9999h: %v", err)
	}
	if err := s.admin.RevokeToken(ctx, made.ID); err != nil {
		t.Fatal(err)
	}
	_, err = ci.Whoami(ctx)
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized {
		t.Errorf("a revoked token: %v, want 401 at once", err)
	}
	// The first admin's token rotated: a new one made, the old one revoked.
	fresh, err := s.admin.CreateToken(ctx, "admin", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.admin.RevokeToken(ctx, list[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.admin.Whoami(ctx); err == nil {
		t.Error("the rotated-out admin token still works")
	}
	if who, err := client.New(s.api.URL, fresh.Secret).Whoami(ctx); err != nil || who.Role != "admin" {
		t.Errorf("the new admin token: %+v, %v", who, err)
	}
}

func TestPasswords_SetByTheirUserOrAnAdminAndKeptHashed(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	ann, err := s.admin.CreateUser(ctx, wire.CreateUserRequest{Name: "ann", Teams: []string{"default"}, Password: "ann's long passphrase"})
	if err != nil || !ann.HasPassword || ann.Role != "member" {
		t.Fatalf("new user with a password: %+v, %v", ann, err)
	}
	annC := client.New(s.api.URL, ann.Token)
	if err := annC.SetPassword(ctx, "ann", "a new passphrase of hers"); err != nil {
		t.Errorf("ann setting her own password: %v", err)
	}
	if err := annC.SetPassword(ctx, "admin", "take over the admin"); err == nil || !strings.Contains(err.Error(), "their own account") {
		t.Errorf("ann setting the admin's password: %v, want refused", err)
	}
	if err := annC.SetPassword(ctx, "ann", "short"); err == nil || !strings.Contains(err.Error(), "10 to 1024 characters") {
		t.Errorf("a short password: %v, want the rule", err)
	}
	if err := s.admin.SetPassword(ctx, "ann", "set by the admin, long"); err != nil {
		t.Errorf("the admin setting ann's password: %v", err)
	}
	hash, err := s.st.PasswordHash(ctx, "ann")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$") || strings.Contains(hash, "set by the admin") {
		t.Errorf("stored password %q: want an argon2id hash only", hash)
	}
}
