package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// A webhook tells nobody which apps exist: an unknown app, an app with no
// webhook secret yet and a bad signature are answered alike.
func TestHooks_AnUnknownAppAndABadSignatureAnswerAlike(t *testing.T) {
	s := newServer(t)
	s.createApp("shop")
	s.createApp("blog")
	if _, err := s.admin.Webhook(t.Context(), "blog", false); err != nil { // blog gets a secret
		t.Fatal(err)
	}
	post := func(app string) (int, string) {
		req, _ := http.NewRequest("POST", s.api.URL+"/hooks/github/"+app, strings.NewReader(`{"ref": "refs/heads/main"}`))
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-Hub-Signature-256", "sha256=00")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	ghostCode, ghost := post("ghost")
	for _, app := range []string{"shop", "blog"} {
		code, body := post(app)
		if code != http.StatusUnauthorized || code != ghostCode || body != ghost {
			t.Errorf("webhook to %s: %d %s; to an unknown app: %d %s; want the same 401", app, code, body, ghostCode, ghost)
		}
	}
}
