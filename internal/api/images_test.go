package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/nonstopdev/nonstop/internal/client"
)

// A member deploys with --image only the app's own images, or ones under
// a prefix an admin allowed: not another team's build, not anything the
// server's registry credentials would pull.
func TestImages_AMemberDeploysOnlyTheAppsOwnOrAllowedImages(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	ann := s.member("ann", "shop")
	if _, err := ann.CreateApp(ctx, "cart", nil); err != nil {
		t.Fatal(err)
	}
	forbidden := func(err error) bool {
		var e *client.Error
		return errors.As(err, &e) && e.Status == http.StatusForbidden
	}
	for _, ref := range []string{"busybox:latest", "127.0.0.1:5000/blog:3", "127.0.0.1:5000/cart-evil:1", "ghcr.io/other/app:1"} {
		if _, err := ann.DeployImage(ctx, "cart", ref, ""); !forbidden(err) || !strings.Contains(err.Error(), "the app's own images (127.0.0.1:5000/cart") {
			t.Errorf("ann deploying %s: %v, want 403 naming the rule", ref, err)
		}
	}
	for _, ref := range []string{"127.0.0.1:5000/cart:7", "127.0.0.1:5000/cart@sha256:" + strings.Repeat("a", 64), "ghcr.io/acme/cart:1"} {
		// Past the rule; this server has no Docker Engine, which says so.
		if _, err := ann.DeployImage(ctx, "cart", ref, ""); forbidden(err) {
			t.Errorf("ann deploying %s: %v, want it past the image rule", ref, err)
		}
	}
	if _, err := s.admin.DeployImage(ctx, "cart", "busybox:latest", ""); forbidden(err) {
		t.Errorf("the admin deploying any image: %v, want it past the image rule", err)
	}
}
