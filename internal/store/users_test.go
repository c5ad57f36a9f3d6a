package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/nonstopdev/nonstop/internal/store"
)

func TestBootstrap_CreatesTheAdminOnceOnly(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	created, err := st.Bootstrap(ctx, "first-hash")
	if err != nil || !created {
		t.Fatalf("first bootstrap: created=%v err=%v", created, err)
	}
	created, err = st.Bootstrap(ctx, "second-hash")
	if err != nil || created {
		t.Fatalf("second bootstrap: created=%v err=%v; want false, nil", created, err)
	}
	if _, err := st.UserByTokenHash(ctx, "second-hash"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the second bootstrap's token works (err %v): it must not be stored", err)
	}
	admin, err := st.UserByTokenHash(ctx, "first-hash")
	if err != nil {
		t.Fatalf("first token: %v", err)
	}
	team, err := st.TeamID(ctx, store.DefaultTeam)
	if err != nil {
		t.Fatal(err)
	}
	if admin.Name != "admin" || admin.Role != store.RoleAdmin || !slices.Equal(admin.Teams, []int64{team}) {
		t.Errorf("admin = %+v, want admin/admin in team %d", admin, team)
	}
}

func TestUserByTokenHash_UnknownTokenIsNotFound(t *testing.T) {
	st := openMemory(t)
	defaultTeam(t, st)
	for _, h := range []string{"", "nope", "hash-of-admin-token "} {
		if u, err := st.UserByTokenHash(context.Background(), h); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("hash %q: user %+v err %v, want ErrNotFound", h, u, err)
		}
	}
}

func TestCreateUser_MemberSeesOnlyItsTeamAndAdminSeesAll(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	def := defaultTeam(t, st)
	member, err := st.CreateUser(ctx, "mia", store.RoleMember, "payments", "mia-hash")
	if err != nil {
		t.Fatal(err)
	}
	payments, err := st.TeamID(ctx, "payments")
	if err != nil {
		t.Fatalf("CreateUser did not create team payments: %v", err)
	}
	if payments == def || !slices.Equal(member.Teams, []int64{payments}) {
		t.Fatalf("member teams %v, want [%d] (a new team, not default %d)", member.Teams, payments, def)
	}

	got, err := st.UserByTokenHash(ctx, "mia-hash")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "mia" || got.Role != store.RoleMember || !slices.Equal(got.Teams, []int64{payments}) {
		t.Errorf("token acts as %+v, want mia, member of %d", got, payments)
	}
	if !got.CanAccess(payments) || got.CanAccess(def) {
		t.Errorf("member access: own team %v, default team %v; want true, false", got.CanAccess(payments), got.CanAccess(def))
	}
	admin, err := st.UserByTokenHash(ctx, "hash-of-admin-token")
	if err != nil {
		t.Fatal(err)
	}
	if !admin.CanAccess(payments) || !admin.CanAccess(def) || !admin.CanAccess(424242) {
		t.Error("an admin must access the apps of every team")
	}

	// A second user of an existing team joins it rather than making another.
	bob, err := st.CreateUser(ctx, "bob", store.RoleMember, "payments", "bob-hash")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(bob.Teams, []int64{payments}) {
		t.Errorf("bob teams %v, want [%d]", bob.Teams, payments)
	}
}

func TestCreateUser_RefusesDuplicateNamesAndTokens(t *testing.T) {
	ctx := context.Background()
	st := openMemory(t)
	defaultTeam(t, st)
	if _, err := st.CreateUser(ctx, "mia", store.RoleMember, "a", "h1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUser(ctx, "mia", store.RoleMember, "a", "h2"); err == nil {
		t.Error("a second user named mia was created")
	}
	if _, err := st.CreateUser(ctx, "other", store.RoleMember, "a", "h1"); err == nil {
		t.Error("a second user with the same token hash was created")
	}
	if u, err := st.UserByTokenHash(ctx, "h2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused user's token works: %+v %v", u, err)
	}
	if _, err := st.CreateUser(ctx, "eve", store.Role("root"), "a", "h3"); err == nil {
		t.Error("a user with an unknown role was created")
	}
}

func TestTeamID_UnknownTeamIsNotFound(t *testing.T) {
	st := openMemory(t)
	if _, err := st.TeamID(context.Background(), "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("err %v, want ErrNotFound", err)
	}
}

// Remaking the users table (migration 7, for viewers) keeps every user,
// their teams and their tokens: nothing cascades from the dropped table.
func TestMigrate_RemakingUsersKeepsTheirTeamsAndTokens(t *testing.T) {
	ctx := context.Background()
	st, path := openFile(t)
	if _, err := st.Bootstrap(ctx, "admin-hash"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUser(ctx, "ann", store.RoleMember, "shop", "ann-hash"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	db := rawDB(t, path)
	if _, err := db.Exec(`ALTER TABLE tokens DROP COLUMN expires_at; DROP TABLE sessions; DROP TABLE audit; DROP TABLE samples; DELETE FROM schema_migrations WHERE version >= 7`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	again, err := store.Open(ctx, path)
	if err != nil {
		t.Fatalf("migrate to v7 again: %v", err)
	}
	defer again.Close()
	for hash, want := range map[string]string{"admin-hash": "admin", "ann-hash": "ann"} {
		u, err := again.UserByTokenHash(ctx, hash)
		if err != nil || u.Name != want || len(u.Teams) != 1 {
			t.Errorf("user of %s after the migration: %+v, %v; want %s in one team", hash, u, err, want)
		}
	}
}
