package api_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/auth"
	"github.com/nonstopdev/nonstop/internal/client"
	"github.com/nonstopdev/nonstop/internal/store"
)

// Every change through the API is in the audit log with who made it, and
// what was refused is there too; nobody sees another team's entries, and
// no entry holds a value that was set.
func TestAudit_WhoDidWhatOnWhichAppAsTheirRoleMaySee(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	for _, team := range []string{"a", "b"} {
		if _, err := s.admin.CreateTeam(ctx, team); err != nil {
			t.Fatal(err)
		}
	}
	clientOf := func(name string, role store.Role, team string) *client.Client {
		u, err := s.st.AddUser(ctx, name, role, []string{team})
		if err != nil {
			t.Fatal(err)
		}
		tok := auth.NewToken()
		if _, err := s.st.CreateToken(ctx, u.ID, name, auth.Hash(tok), time.Time{}); err != nil {
			t.Fatal(err)
		}
		return client.New(s.api.URL, tok)
	}
	ann, vic, bob := clientOf("ann", store.RoleMember, "a"), clientOf("vic", store.RoleViewer, "a"), clientOf("bob", store.RoleMember, "b")
	if _, err := ann.CreateAppIn(ctx, "shop", "a", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.CreateAppIn(ctx, "blog", "b", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ann.SetEnv(ctx, "shop", map[string]string{"DB_PASSWORD": "s3cret-value"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := vic.Scale(ctx, "shop", 3); err == nil {
		t.Fatal("the viewer scaled the app")
	}

	all, err := s.admin.Audit(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range all {
		lines = append(lines, e.User+" "+e.Action+" "+e.App+" "+strconv.Itoa(e.Status))
		if strings.Contains(e.Target+e.Action, "s3cret") {
			t.Errorf("an audit entry holds a value that was set: %+v", e)
		}
	}
	log := strings.Join(lines, "\n")
	for _, want := range []string{"admin team create  201", "ann app create shop 201", "bob app create blog 201", "ann env set shop 200", "vic scale shop 403"} {
		if !strings.Contains(log, want) {
			t.Errorf("the admin's audit log lacks %q:\n%s", want, log)
		}
	}
	seen := func(c *client.Client) string {
		es, err := c.Audit(ctx, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.User+" "+e.Action+" "+e.App)
		}
		return strings.Join(out, "\n")
	}
	if got := seen(vic); !strings.Contains(got, "ann env set shop") || strings.Contains(got, "blog") {
		t.Errorf("the viewer of team a sees:\n%s\nwant shop's entries, none of blog", got)
	}
	if got := seen(bob); strings.Contains(got, "shop") {
		t.Errorf("bob of team b sees team a's app:\n%s", got)
	}
	only, err := s.admin.Audit(ctx, "blog", 0)
	if err != nil || len(only) != 1 || only[0].App != "blog" {
		t.Errorf("the audit of blog: %+v, %v", only, err)
	}
}
