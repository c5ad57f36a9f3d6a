package image

import (
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"
)

func TestRegistry_RepoAndDomain(t *testing.T) {
	for _, tc := range []struct{ host, repo, domain string }{
		{"", "nonstop/hello", ""},
		{"127.0.0.1:5055", "127.0.0.1:5055/hello", "127.0.0.1:5055"},
		{"https://ghcr.io/team/", "ghcr.io/team/hello", "ghcr.io"},
	} {
		r := Registry{Host: tc.host}
		if got := r.Repo("hello"); got != tc.repo {
			t.Errorf("Registry{%q}.Repo = %q, want %q", tc.host, got, tc.repo)
		}
		if got := r.Domain(); got != tc.domain {
			t.Errorf("Registry{%q}.Domain = %q, want %q", tc.host, got, tc.domain)
		}
	}
}

func TestRegistryFromDockerConfig_ReadsTheHostsAuth(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	auth := base64.StdEncoding.EncodeToString([]byte("alice:s3:cret"))
	writeFile(t, path, `{"auths": {
		"https://index.docker.io/v1/": {"auth": "`+base64.StdEncoding.EncodeToString([]byte("hub:x"))+`"},
		"http://127.0.0.1:5055": {"auth": "`+auth+`"},
		"other.example": {"username": "bob", "password": "pw"}
	}, "credHelpers": {"helped.example": "pass"}}`)

	for _, tc := range []struct{ host, user, pass string }{
		{"127.0.0.1:5055/team", "alice", "s3:cret"},
		{"docker.io/me", "hub", "x"},
		{"other.example", "bob", "pw"},
		{"anonymous.example", "", ""},
	} {
		reg, err := RegistryFromDockerConfig(path, tc.host)
		if err != nil {
			t.Errorf("%s: %v", tc.host, err)
			continue
		}
		if reg.Host != tc.host || reg.Username != tc.user || reg.Password != tc.pass {
			t.Errorf("%s: got %+v, want user %q password %q", tc.host, reg, tc.user, tc.pass)
		}
	}
	if _, err := RegistryFromDockerConfig(path, "helped.example"); err == nil || !strings.Contains(err.Error(), "credential helper") {
		t.Errorf("credentials in a helper: %v, want an error that says so", err)
	}
	reg, err := RegistryFromDockerConfig(filepath.Join(dir, "missing.json"), "127.0.0.1:5055")
	if err != nil || reg.Username != "" {
		t.Errorf("missing config: %+v, %v; want no credentials and no error", reg, err)
	}
	writeFile(t, path, `{"auths": {"127.0.0.1:5055": {"auth": "not base64!"}}}`)
	if _, err := RegistryFromDockerConfig(path, "127.0.0.1:5055"); err == nil {
		t.Error("bad auth: no error")
	}
}
