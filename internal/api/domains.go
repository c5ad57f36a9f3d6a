package api

import (
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"

	"github.com/nonstopdev/nonstop/internal/store"
)

// previewRE is a release's preview host under an app's own: vN.APP.SUFFIX.
var previewRE = regexp.MustCompile(`^v[0-9]+\.`)

// domainsFor checks the domains app is to be served at, lowercased: each
// a host name, not an IP address, not nonstop's domain suffix nor a name
// under another app's host (NAME.SUFFIX) or under another app's domain,
// and no preview host (vN.APP.SUFFIX). An admin may assign any host name;
// a domain another app already has is refused to all (by the store).
func (a *API) domainsFor(r *http.Request, u *store.User, app string, in []string) ([]string, error) {
	domains, err := cleanDomains(in)
	if err != nil || len(domains) == 0 || u.Role == store.RoleAdmin {
		return domains, err
	}
	apps, err := a.Store.Apps(r.Context())
	if err != nil {
		return nil, err
	}
	suffix := a.Engine.DomainSuffix
	for _, d := range domains {
		if net.ParseIP(d) != nil {
			return nil, fmt.Errorf("domain %s is an IP address: an app is served at host names (an admin may assign any): %w", d, errBadRequest)
		}
		if d == suffix {
			return nil, fmt.Errorf("domain %s is nonstop's own domain suffix (apps are served under it as NAME.%s): %w", d, suffix, errBadRequest)
		}
		if under, ok := strings.CutSuffix(d, "."+suffix); ok {
			labels := strings.Split(under, ".")
			owner := labels[len(labels)-1]
			switch {
			case owner != app:
				return nil, fmt.Errorf("domain %s is under app %s's host %s.%s: an app takes names under its own host only (an admin may assign any): %w", d, owner, owner, suffix, errBadRequest)
			case len(labels) > 1 && previewRE.MatchString(d):
				return nil, fmt.Errorf("domain %s is the host of a release's preview (vN.%s.%s): %w", d, app, suffix, errBadRequest)
			}
		}
		for _, other := range apps {
			if other.Name == app {
				continue
			}
			for _, theirs := range other.Domains {
				if strings.HasSuffix(d, "."+theirs) {
					return nil, fmt.Errorf("domain %s is under %s, a domain of app %s: %w", d, theirs, other.Name, errBadRequest)
				}
			}
		}
	}
	return domains, nil
}
