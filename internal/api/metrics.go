package api

import (
	"fmt"
	"net/http"

	"github.com/nonstopdev/nonstop/internal/store"
)

// metrics serves the Prometheus scrape (see docs/metrics.md). It covers
// every team's apps, so it takes an admin's token.
func (a *API) metrics(w http.ResponseWriter, r *http.Request, u *store.User) error {
	if u.Role != store.RoleAdmin {
		return fmt.Errorf("metrics cover every team's apps: use an admin's token: %w", errForbidden)
	}
	a.Metrics.ServeHTTP(w, r)
	return nil
}
