package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nonstopdev/nonstop/internal/wire"
)

// A member claims only names that are not someone else's: no IP address,
// not the domain suffix, nothing under another app's host or domain, no
// preview host. An admin may assign any name that is free.
func TestDomains_AMemberCannotClaimAnotherAppsNames(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	s.createApp("echo")
	if _, err := s.admin.CreateAppIn(ctx, "blog", "", []string{"shop.example.com"}); err != nil {
		t.Fatal(err)
	}
	ann := s.member("ann", "default")
	for domain, rule := range map[string]string{
		"127.0.0.1":            "is an IP address",
		"localhost":            "not a host name", // the domain suffix, and no host name here
		"login.echo.localhost": "under app echo's host",
		"api.shop.example.com": "under shop.example.com, a domain of app blog",
		"shop.example.com":     "already served by app blog",
	} {
		if _, err := ann.CreateAppIn(ctx, "mine", "", []string{domain}); err == nil || !strings.Contains(err.Error(), rule) {
			t.Errorf("ann claiming %s for a new app: %v, want refused: %s", domain, err, rule)
		}
	}
	if _, err := ann.CreateAppIn(ctx, "mine", "", []string{"www.mine.localhost", "mine.example.org"}); err != nil {
		t.Fatalf("names under her own host and of her own: %v", err)
	}
	if _, err := ann.SetApp(ctx, "mine", wire.AppSettings{Domains: &[]string{"v2.mine.localhost"}}); err == nil || !strings.Contains(err.Error(), "preview") {
		t.Errorf("a preview host as a domain: %v, want refused", err)
	}
	if _, err := s.admin.SetApp(ctx, "echo", wire.AppSettings{Domains: &[]string{"login.blog.localhost"}}); err != nil {
		t.Errorf("the admin assigning a name under another app's host: %v, want allowed", err)
	}
}
