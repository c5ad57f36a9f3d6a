package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/auth"
	"github.com/nonstopdev/nonstop/internal/client"
	"github.com/nonstopdev/nonstop/internal/store"
)

// An app's status says what the caller may do to it now, and its
// releases which ones it can be rolled back to: a viewer may do nothing.
func TestStatus_SaysWhatTheCallerMayDoNow(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	s.createApp("echo")
	actions := func(c *client.Client) string {
		t.Helper()
		st, err := c.Status(ctx, "echo")
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(st.Actions, " ")
	}
	if got := actions(s.admin); got != "deploy env scale" {
		t.Errorf("a new app: %q, want deploy env scale", got)
	}
	s.deployLive("echo", 1)
	if got := actions(s.admin); got != "deploy env scale stop" {
		t.Errorf("v1 live alone: %q, want deploy env scale stop", got)
	}
	s.deployLive("echo", 2)
	if got := actions(s.admin); got != "deploy env scale stop rollback" {
		t.Errorf("v2 live after v1: %q, want rollback too", got)
	}
	rels, err := s.admin.Releases(ctx, "echo")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rels {
		if want := r.Version == 1; r.CanRollBackTo != want {
			t.Errorf("v%d (%s): can roll back to %v, want %v", r.Version, r.Status, r.CanRollBackTo, want)
		}
	}

	token := auth.NewToken()
	if _, err := s.st.AddUser(ctx, "vic", store.RoleViewer, []string{store.DefaultTeam}); err != nil {
		t.Fatal(err)
	}
	vic, _ := s.st.UserByName(ctx, "vic")
	if _, err := s.st.CreateToken(ctx, vic.ID, "vic", auth.Hash(token), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := actions(client.New(s.api.URL, token)); got != "" {
		t.Errorf("a viewer may do %q, want nothing", got)
	}
}
