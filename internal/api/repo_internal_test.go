package api

import (
	"context"
	"testing"
)

func TestCheckRepo_OnlyRepositoriesNeverOptionsOrCommands(t *testing.T) {
	for _, c := range []struct {
		url   string
		admin bool
		ok    bool
	}{
		{"https://github.com/acme/app.git", false, true},
		{"ssh://git@example.com:22/acme/app.git", false, true},
		{"git@github.com:acme/app.git", false, true},
		{"file:///srv/git/app.git", true, true},
		{"file:///srv/git/app.git", false, false}, // the server's own disk: admins only
		{"--upload-pack=touch /tmp/x;@x:", false, false},
		{"-oProxyCommand=x@y:z", false, false},
		{"ext::sh -c touch% /tmp/x", true, false},
		{"https://", false, false},
		{"relative/path", true, false},
		// nonstop's own services, and the cloud's metadata: admins only.
		{"http://127.0.0.1:7070/git/other.git", false, false},
		{"http://localhost:5000/x.git", false, false},
		{"http://[::1]/x.git", false, false},
		{"git@127.0.0.1:x.git", false, false},
		{"http://169.254.169.254/latest/meta-data", false, false},
		{"http://0.0.0.0:7070/x.git", false, false},
		{"http://127.0.0.1:7070/git/other.git", true, true},
	} {
		err := checkRepo(context.Background(), c.url, c.admin)
		if (err == nil) != c.ok {
			t.Errorf("checkRepo(%q, admin=%v) = %v, want ok=%v", c.url, c.admin, err, c.ok)
		}
	}
}
