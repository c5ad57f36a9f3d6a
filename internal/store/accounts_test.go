package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/store"
)

func TestAccounts_UsersTeamsAndMembers(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	if _, err := st.Bootstrap(ctx, "admin-hash"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateTeam(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateTeam(ctx, "shop"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second team shop: %v, want a conflict", err)
	}
	ann, err := st.AddUser(ctx, "ann", store.RoleMember, []string{"shop"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddUser(ctx, "ann", store.RoleViewer, nil); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second user ann: %v, want a conflict", err)
	}
	if _, err := st.AddUser(ctx, "bob", store.RoleViewer, []string{"nowhere"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a user in a team that does not exist: %v, want not found", err)
	}
	if _, err := st.AddUser(ctx, "eve", "root", nil); err == nil {
		t.Error("a user with role root was added")
	}
	if err := st.AddTeamMember(ctx, store.DefaultTeam, "ann"); err != nil {
		t.Fatal(err)
	}
	got, err := st.UserByName(ctx, "ann")
	if err != nil || got.ID != ann.ID || len(got.Teams) != 2 {
		t.Fatalf("ann: %+v, %v; want two teams", got, err)
	}
	users, err := st.Users(ctx)
	if err != nil || len(users) != 2 || users[1].Name != "ann" || !slices.Equal(users[1].Teams, []string{"default", "shop"}) && !slices.Equal(users[1].Teams, []string{"shop", "default"}) {
		t.Fatalf("users: %+v, %v", users, err)
	}
	if err := st.RemoveTeamMember(ctx, "shop", "ann"); err != nil {
		t.Fatal(err)
	}
	if err := st.RemoveTeamMember(ctx, "shop", "ann"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("removing ann from shop twice: %v, want not found", err)
	}
	teams, err := st.Teams(ctx)
	if err != nil || len(teams) != 2 || teams[1].Name != "shop" || len(teams[1].Members) != 0 {
		t.Fatalf("teams: %+v, %v", teams, err)
	}
	if err := st.DeleteUser(ctx, "admin"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("deleting the last admin: %v, want a conflict", err)
	}
	if err := st.DeleteUser(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UserByName(ctx, "ann"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ann after delete: %v, want not found", err)
	}
}

func TestTokens_ARevokedOrExpiredTokenOpensNothing(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	if _, err := st.Bootstrap(ctx, "admin-hash"); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	st.SetClock(func() time.Time { return now })
	admin, err := st.UserByName(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	ci, err := st.CreateToken(ctx, admin.ID, "ci", "ci-hash", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateToken(ctx, admin.ID, "laptop", "laptop-hash", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if u, err := st.UserByTokenHash(ctx, "laptop-hash"); err != nil || u.Name != "admin" {
		t.Fatalf("a token within its expiry: %+v, %v", u, err)
	}
	list, err := st.Tokens(ctx, admin.ID)
	if err != nil || len(list) != 3 || list[0].Name != "laptop" || list[0].LastUsedAt.IsZero() || !list[0].ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("tokens: %+v, %v", list, err)
	}

	now = now.Add(2 * time.Hour)
	if _, err := st.UserByTokenHash(ctx, "laptop-hash"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an expired token: %v, want not found", err)
	}
	if err := st.RevokeToken(ctx, admin.ID+1, ci.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoking another user's token: %v, want not found", err)
	}
	if err := st.RevokeToken(ctx, admin.ID, ci.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UserByTokenHash(ctx, "ci-hash"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a revoked token: %v, want not found", err)
	}
}

func TestAudit_NewestFirstFilteredAcrossPages(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	for i := range 1200 {
		app := "shop"
		if i%2 == 1 {
			app = "blog"
		}
		if err := st.AddAudit(ctx, store.AuditEntry{User: "ann", Action: "scale", App: app, Status: 200 + i%2}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.Audit(ctx, "blog", 700, nil)
	if err != nil || len(got) != 600 || got[0].ID != 1200 || got[599].ID != 2 {
		t.Fatalf("blog's entries: %d, first %d, last %d, %v; want 600 from 1200 down to 2", len(got), got[0].ID, got[len(got)-1].ID, err)
	}
	kept, err := st.Audit(ctx, "", 10, func(e store.AuditEntry) bool {
		_, err := st.App(ctx, e.App) // keep may read the store
		return errors.Is(err, store.ErrNotFound) && e.ID%100 == 0
	})
	if err != nil || len(kept) != 10 || kept[0].ID != 1200 || kept[9].ID != 300 {
		t.Errorf("kept entries: %+v, %v", kept, err)
	}
}
