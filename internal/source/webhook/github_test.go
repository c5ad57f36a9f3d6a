package webhook

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

// githubRequest is what GitHub sends for a JSON webhook: its event and
// delivery headers and the body's signature.
func githubRequest(event string, body []byte) http.Header {
	return header(
		"Content-Type", "application/json",
		"User-Agent", "GitHub-Hookshot/044aadd",
		"X-GitHub-Event", event,
		"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958",
		"X-GitHub-Hook-ID", "292430182",
		"X-Hub-Signature-256", "sha256="+sign(testSecret, body),
	)
}

func TestGitHub_SignedPushGivesBranchCommitAndRepo(t *testing.T) {
	body := fixture(t, "github/push.json")
	e := mustVerifyAndParse(t, GitHub, githubRequest("push", body), body)

	want := &Event{
		Kind:     Push,
		Delivery: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
		Ref:      "refs/heads/main",
		Branch:   "main",
		Commit:   "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
		RepoURLs: []string{
			"https://github.com/Codertocat/Hello-World.git",
			"git://github.com/Codertocat/Hello-World.git",
			"git@github.com:Codertocat/Hello-World.git",
			"https://github.com/Codertocat/Hello-World",
		},
		Pusher: "Codertocat",
	}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("Parse =\n%+v\nwant\n%+v", e, want)
	}
	for _, repo := range []string{
		"https://github.com/Codertocat/Hello-World",
		"https://github.com/codertocat/hello-world.git",
		"git@github.com:Codertocat/Hello-World.git",
		"ssh://git@github.com/Codertocat/Hello-World",
	} {
		if !e.MatchesRepo(repo) {
			t.Errorf("MatchesRepo(%q) = false", repo)
		}
	}
	if e.MatchesRepo("https://github.com/Codertocat/Other") {
		t.Error("MatchesRepo(another repository) = true")
	}
}

func TestGitHub_BadOrMissingSignatureIsRefused(t *testing.T) {
	body := fixture(t, "github/push.json")
	h := githubRequest("push", body)
	h.Set("X-Hub-Signature-256", "sha256="+sign("guessed", body))
	if err := Verify(GitHub, h, body, testSecret); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("bad signature: err = %v", err)
	}
	h.Del("X-Hub-Signature-256")
	if err := Verify(GitHub, h, body, testSecret); !errors.Is(err, ErrMissingSignature) {
		t.Errorf("no signature: err = %v", err)
	}
}

func TestGitHub_PingIsPing(t *testing.T) {
	body := fixture(t, "github/ping.json")
	e := mustVerifyAndParse(t, GitHub, githubRequest("ping", body), body)
	if e.Kind != Ping || e.Delivery == "" {
		t.Fatalf("Parse = %+v; want a Ping with its delivery id", e)
	}
	if !e.MatchesRepo("https://github.com/Codertocat/Hello-World.git") {
		t.Errorf("ping's repository %v does not match its clone URL", e.RepoURLs)
	}
}

func TestGitHub_BranchDeletionIsDeleted(t *testing.T) {
	body := fixture(t, "github/push-delete.json")
	e := mustVerifyAndParse(t, GitHub, githubRequest("push", body), body)
	if e.Kind != Push || !e.Deleted || e.Branch != "simple-tag" || e.Commit != "" {
		t.Fatalf("Parse = %+v; want a deleted push of branch simple-tag, no commit", e)
	}
}

func TestGitHub_TagPushHasNoBranch(t *testing.T) {
	body := fixture(t, "github/push-tag.json")
	e := mustVerifyAndParse(t, GitHub, githubRequest("push", body), body)
	if e.Kind != Push || e.Ref != "refs/tags/v1.0.0" || e.Branch != "" || e.Deleted ||
		e.Commit != "6113728f27ae82c7b1a177c8d03f9e96e0adf246" {
		t.Fatalf("Parse = %+v; want a push of tag v1.0.0 with no branch", e)
	}
}

func TestGitHub_FormEncodedPayloadIsSignedRawAndDecoded(t *testing.T) {
	json := fixture(t, "github/push.json")
	body := []byte(url.Values{"payload": {string(json)}}.Encode())

	h := githubRequest("push", body) // signed over the form body, as GitHub does
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	e := mustVerifyAndParse(t, GitHub, h, body)
	if e.Branch != "main" || e.Commit != "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c" {
		t.Fatalf("Parse = %+v", e)
	}

	// A signature over the decoded JSON is not GitHub's.
	h.Set("X-Hub-Signature-256", "sha256="+sign(testSecret, json))
	if err := Verify(GitHub, h, body, testSecret); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("signature over the decoded payload: err = %v; want ErrSignatureMismatch", err)
	}

	// Without a content type, the body's first bytes tell.
	h.Del("Content-Type")
	if e, err := Parse(GitHub, h, body); err != nil || e.Branch != "main" {
		t.Errorf("no content type: Parse = %+v, %v", e, err)
	}

	// A form without a payload field is malformed.
	h.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if _, err := Parse(GitHub, h, []byte("other=1")); !errors.Is(err, ErrMalformed) {
		t.Errorf("form without payload: err = %v; want ErrMalformed", err)
	}
}

func TestGitHub_OtherEventsAreOtherAndNotRead(t *testing.T) {
	e, err := Parse(GitHub, githubRequest("issues", nil), []byte(`not even json`))
	if err != nil || e.Kind != Other || e.Delivery == "" {
		t.Fatalf("Parse = %+v, %v; want Other", e, err)
	}
}

func TestGitHub_MissingEventHeaderIsMalformed(t *testing.T) {
	body := fixture(t, "github/push.json")
	h := githubRequest("push", body)
	h.Del("X-GitHub-Event")
	if _, err := Parse(GitHub, h, body); !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v; want ErrMalformed", err)
	}
}
