package webhook

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

// giteaRequest is what Gitea sends (it adds GitHub- and Gogs-style
// copies of its headers, which nonstop does not need).
func giteaRequest(event string, body []byte) http.Header {
	return header(
		"Content-Type", "application/json",
		"X-Gitea-Delivery", "f6266f16-1bf3-46a5-9ea4-602e06ead473",
		"X-Gitea-Event", event,
		"X-Gitea-Event-Type", event,
		"X-Gitea-Signature", sign(testSecret, body),
		"X-Gogs-Event", event,
	)
}

// forgejoRequest is what Forgejo sends when it only uses its own names.
func forgejoRequest(event string, body []byte) http.Header {
	return header(
		"Content-Type", "application/json",
		"X-Forgejo-Delivery", "3b3a5d5c-6f35-4d63-9f26-0b6c2fd5b0a1",
		"X-Forgejo-Event", event,
		"X-Forgejo-Signature", sign(testSecret, body),
	)
}

func TestGitea_SignedPushGivesBranchCommitAndRepo(t *testing.T) {
	body := fixture(t, "gitea/push.json")
	e := mustVerifyAndParse(t, Gitea, giteaRequest("push", body), body)

	want := &Event{
		Kind:     Push,
		Delivery: "f6266f16-1bf3-46a5-9ea4-602e06ead473",
		Ref:      "refs/heads/develop",
		Branch:   "develop",
		Commit:   "bffeb74224043ba2feb48d137756c8a9331c449a",
		RepoURLs: []string{
			"http://localhost:3000/gitea/webhooks.git",
			"ssh://gitea@localhost:2222/gitea/webhooks.git",
			"http://localhost:3000/gitea/webhooks",
			"http://localhost:3000/api/v1/repos/gitea/webhooks",
		},
		Pusher: "gitea",
	}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("Parse =\n%+v\nwant\n%+v", e, want)
	}
	for _, repo := range []string{"http://localhost:3000/gitea/webhooks", "ssh://git@localhost:2222/gitea/webhooks"} {
		if !e.MatchesRepo(repo) {
			t.Errorf("MatchesRepo(%q) = false", repo)
		}
	}
	if e.MatchesRepo("http://localhost:3001/gitea/webhooks") {
		t.Error("MatchesRepo(same path on another port) = true")
	}
}

func TestGitea_BadOrMissingSignatureIsRefused(t *testing.T) {
	body := fixture(t, "gitea/push.json")
	h := giteaRequest("push", body)
	h.Set("X-Gitea-Signature", sign("guessed", body))
	if err := Verify(Gitea, h, body, testSecret); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("bad signature: err = %v", err)
	}
	h.Del("X-Gitea-Signature")
	if err := Verify(Gitea, h, body, testSecret); !errors.Is(err, ErrMissingSignature) {
		t.Errorf("no signature: err = %v", err)
	}
}

func TestGitea_ForgejoHeadersWork(t *testing.T) {
	body := fixture(t, "gitea/push.json")
	e := mustVerifyAndParse(t, Gitea, forgejoRequest("push", body), body)
	if e.Kind != Push || e.Branch != "develop" || e.Delivery != "3b3a5d5c-6f35-4d63-9f26-0b6c2fd5b0a1" {
		t.Fatalf("Parse = %+v", e)
	}
}

func TestGitea_TestDeliveryIsAPush(t *testing.T) {
	// Gitea has no ping: "Test Delivery" sends a push of the default
	// branch's head, before == after.
	body := []byte(`{"ref":"refs/heads/master","before":"bffeb74224043ba2feb48d137756c8a9331c449a","after":"bffeb74224043ba2feb48d137756c8a9331c449a","repository":{"clone_url":"http://localhost:3000/gitea/webhooks.git"},"pusher":{"login":"gitea"}}`)
	e := mustVerifyAndParse(t, Gitea, giteaRequest("push", body), body)
	if e.Kind != Push || e.Branch != "master" {
		t.Fatalf("Parse = %+v", e)
	}
}

func TestGitea_FormEncodedPayloadIsDecoded(t *testing.T) {
	body := []byte(url.Values{"payload": {string(fixture(t, "gitea/push.json"))}}.Encode())
	h := giteaRequest("push", body)
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	e := mustVerifyAndParse(t, Gitea, h, body)
	if e.Branch != "develop" {
		t.Fatalf("Parse = %+v", e)
	}
}

func TestGitea_OtherEventsAreOther(t *testing.T) {
	e, err := Parse(Gitea, giteaRequest("create", nil), []byte(`{"ref":"v1","ref_type":"tag"}`))
	if err != nil || e.Kind != Other {
		t.Fatalf("Parse = %+v, %v; want Other", e, err)
	}
}
