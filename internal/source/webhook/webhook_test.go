package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// The secret of GitHub's own signature example ("Validating webhook
// deliveries"); every test signs with it unless it says otherwise.
const testSecret = "It's a Secret to Everybody"

// fixture reads a request body from testdata/ (modelled on the forges'
// documented example payloads; see testdata/README.md).
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sign returns the hex HMAC-SHA256 of body under secret, as the forges
// compute it.
func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// header builds request headers from name, value pairs.
func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// mustVerifyAndParse is the handler's path for a good request.
func mustVerifyAndParse(t *testing.T, f Forge, h http.Header, body []byte) *Event {
	t.Helper()
	if err := Verify(f, h, body, testSecret); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	e, err := Parse(f, h, body)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return e
}

func TestParseForge_KnowsEveryForgeAndForgejo(t *testing.T) {
	for _, f := range Forges() {
		got, err := ParseForge(string(f))
		if err != nil || got != f || !f.Valid() {
			t.Errorf("ParseForge(%q) = %q, %v", f, got, err)
		}
	}
	if got, err := ParseForge("forgejo"); err != nil || got != Gitea {
		t.Errorf("ParseForge(forgejo) = %q, %v; want gitea", got, err)
	}
	for _, s := range []string{"", "bitbucket", "GitHub"} {
		if _, err := ParseForge(s); !errors.Is(err, ErrUnknownForge) {
			t.Errorf("ParseForge(%q) = %v; want ErrUnknownForge", s, err)
		}
	}
}

func TestParse_BadJSONIsMalformed(t *testing.T) {
	cases := []struct {
		forge Forge
		h     http.Header
	}{
		{GitHub, header("X-GitHub-Event", "push")},
		{GitHub, header("X-GitHub-Event", "ping")},
		{GitLab, header("X-Gitlab-Event", "Push Hook")},
		{Gitea, header("X-Gitea-Event", "push")},
		{Generic, header("X-Nonstop-Event", "push")},
	}
	for _, c := range cases {
		for _, body := range []string{`{"ref": "refs/heads/main",`, `not json`, ``, `[1,2]`} {
			if _, err := Parse(c.forge, c.h, []byte(body)); !errors.Is(err, ErrMalformed) {
				t.Errorf("%s %v body %q: err = %v; want ErrMalformed", c.forge, c.h, body, err)
			}
		}
	}
}

func TestParse_UnknownForgeFails(t *testing.T) {
	if _, err := Parse("bitbucket", header(), []byte(`{}`)); !errors.Is(err, ErrUnknownForge) {
		t.Fatalf("err = %v; want ErrUnknownForge", err)
	}
}
