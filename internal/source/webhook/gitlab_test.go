package webhook

import (
	"errors"
	"net/http"
	"reflect"
	"testing"
)

// gitlabRequest is what GitLab sends: the event, its UUIDs and the token.
func gitlabRequest(event string) http.Header {
	return header(
		"Content-Type", "application/json",
		"User-Agent", "GitLab/17.0.0",
		"X-Gitlab-Event", event,
		"X-Gitlab-Event-UUID", "13792a34-cac6-4fda-95a8-c58e00a3954e",
		"X-Gitlab-Webhook-UUID", "0a1f7a25-7e37-4f2f-b2a5-4c43e4bd3d8e",
		"X-Gitlab-Instance", "https://gitlab.example.com",
		"X-Gitlab-Token", testSecret,
	)
}

func TestGitLab_SignedPushHookGivesBranchCommitAndRepo(t *testing.T) {
	body := fixture(t, "gitlab/push.json")
	e := mustVerifyAndParse(t, GitLab, gitlabRequest("Push Hook"), body)

	want := &Event{
		Kind:     Push,
		Delivery: "13792a34-cac6-4fda-95a8-c58e00a3954e",
		Ref:      "refs/heads/master",
		Branch:   "master",
		Commit:   "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
		RepoURLs: []string{
			"http://example.com/mike/diaspora.git",
			"git@example.com:mike/diaspora.git",
			"http://example.com/mike/diaspora",
		},
		Pusher: "jsmith",
	}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("Parse =\n%+v\nwant\n%+v", e, want)
	}
	for _, repo := range []string{"http://example.com/mike/diaspora", "ssh://git@example.com/mike/diaspora.git", "https://EXAMPLE.com/mike/diaspora/"} {
		if !e.MatchesRepo(repo) {
			t.Errorf("MatchesRepo(%q) = false", repo)
		}
	}
	if e.MatchesRepo("http://example.com/mike/other") {
		t.Error("MatchesRepo(another project) = true")
	}
}

func TestGitLab_WrongOrMissingTokenIsRefused(t *testing.T) {
	body := fixture(t, "gitlab/push.json")
	h := gitlabRequest("Push Hook")
	h.Set("X-Gitlab-Token", "guessed")
	if err := Verify(GitLab, h, body, testSecret); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("wrong token: err = %v", err)
	}
	h.Del("X-Gitlab-Token")
	if err := Verify(GitLab, h, body, testSecret); !errors.Is(err, ErrMissingSignature) {
		t.Errorf("no token: err = %v", err)
	}
}

func TestGitLab_DeliveryIdPrefersTheIdempotencyKey(t *testing.T) {
	body := fixture(t, "gitlab/push.json")
	h := gitlabRequest("Push Hook")
	h.Set("Idempotency-Key", "f5d5a6a4-1b1c-4c34-9b5e-2c1f43b1b8a0") // GitLab 17.4+, kept on retries
	if e, _ := Parse(GitLab, h, body); e.Delivery != "f5d5a6a4-1b1c-4c34-9b5e-2c1f43b1b8a0" {
		t.Errorf("with Idempotency-Key: Delivery = %q", e.Delivery)
	}
	h.Del("Idempotency-Key")
	h.Del("X-Gitlab-Event-UUID")
	if e, _ := Parse(GitLab, h, body); e.Delivery != "0a1f7a25-7e37-4f2f-b2a5-4c43e4bd3d8e" {
		t.Errorf("with X-Gitlab-Webhook-UUID only: Delivery = %q", e.Delivery)
	}
	h.Del("X-Gitlab-Webhook-UUID")
	if e, _ := Parse(GitLab, h, body); e.Delivery != "" {
		t.Errorf("with no id: Delivery = %q; want empty", e.Delivery)
	}
}

func TestGitLab_BranchDeletionIsDeleted(t *testing.T) {
	body := fixture(t, "gitlab/push-delete.json")
	e := mustVerifyAndParse(t, GitLab, gitlabRequest("Push Hook"), body)
	if e.Kind != Push || !e.Deleted || e.Branch != "feature" || e.Commit != "" {
		t.Fatalf("Parse = %+v; want a deleted push of branch feature", e)
	}
}

func TestGitLab_TagPushHookHasNoBranch(t *testing.T) {
	body := fixture(t, "gitlab/tag-push.json")
	e := mustVerifyAndParse(t, GitLab, gitlabRequest("Tag Push Hook"), body)
	if e.Kind != Push || e.Ref != "refs/tags/v1.0.0" || e.Branch != "" || e.Deleted ||
		e.Commit != "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7" {
		t.Fatalf("Parse = %+v; want a push of tag v1.0.0 with no branch", e)
	}
	if !e.MatchesRepo("git@example.com:jsmith/example.git") {
		t.Errorf("RepoURLs %v do not match the project", e.RepoURLs)
	}
}

func TestGitLab_SystemHookPushIsPushAndOtherSystemEventsAreOther(t *testing.T) {
	body := fixture(t, "gitlab/push.json")
	e := mustVerifyAndParse(t, GitLab, gitlabRequest("System Hook"), body)
	if e.Kind != Push || e.Branch != "master" {
		t.Fatalf("system push: Parse = %+v", e)
	}
	created := []byte(`{"created_at":"2012-07-21T07:30:54Z","event_name":"project_create","name":"StoreCloud","path":"storecloud","path_with_namespace":"jsmith/storecloud","project_id":74}`)
	e, err := Parse(GitLab, gitlabRequest("System Hook"), created)
	if err != nil || e.Kind != Other {
		t.Fatalf("project_create: Parse = %+v, %v; want Other", e, err)
	}
}

func TestGitLab_OtherHooksAreOther(t *testing.T) {
	e, err := Parse(GitLab, gitlabRequest("Merge Request Hook"), []byte(`{"object_kind":"merge_request"}`))
	if err != nil || e.Kind != Other {
		t.Fatalf("Parse = %+v, %v; want Other", e, err)
	}
}
