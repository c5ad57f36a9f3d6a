package webhook

import (
	"errors"
	"net/http"
	"reflect"
	"testing"
)

// genericRequest is what a script sends to /hooks/generic/APP.
func genericRequest(body []byte, kv ...string) http.Header {
	h := header(kv...)
	h.Set("Content-Type", "application/json")
	h.Set("X-Nonstop-Signature", "sha256="+sign(testSecret, body))
	return h
}

func TestGeneric_SignedPushGivesBranchCommitAndRepo(t *testing.T) {
	body := fixture(t, "generic/push.json")
	e := mustVerifyAndParse(t, Generic, genericRequest(body, "X-Nonstop-Delivery", "run-42"), body)
	want := &Event{
		Kind:     Push,
		Delivery: "run-42",
		Ref:      "refs/heads/main",
		Branch:   "main",
		Commit:   "9fceb02d0ae598e95dc970b74767f19372d61af8",
		RepoURLs: []string{"file:///srv/git/hello.git"},
		Pusher:   "ci",
	}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("Parse =\n%+v\nwant\n%+v", e, want)
	}
	for _, repo := range []string{"file:///srv/git/hello.git", "/srv/git/hello.git/", "file://localhost/srv/git/./hello.git"} {
		if !e.MatchesRepo(repo) {
			t.Errorf("MatchesRepo(%q) = false", repo)
		}
	}
	for _, repo := range []string{"/srv/git/hello", "/srv/git/Hello.git", "file:///srv/other/hello.git"} {
		if e.MatchesRepo(repo) {
			t.Errorf("MatchesRepo(%q) = true", repo)
		}
	}
}

func TestGeneric_BadOrMissingSignatureIsRefused(t *testing.T) {
	body := fixture(t, "generic/push.json")
	h := genericRequest(body)
	h.Set("X-Nonstop-Signature", "sha256="+sign("guessed", body))
	if err := Verify(Generic, h, body, testSecret); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("bad signature: err = %v", err)
	}
	h.Del("X-Nonstop-Signature")
	if err := Verify(Generic, h, body, testSecret); !errors.Is(err, ErrMissingSignature) {
		t.Errorf("no signature: err = %v", err)
	}
}

func TestGeneric_EventDefaultsToPushAndPingIsPing(t *testing.T) {
	body := fixture(t, "generic/push.json")
	if e, err := Parse(Generic, genericRequest(body), body); err != nil || e.Kind != Push || e.Delivery != "" {
		t.Errorf("no event header: Parse = %+v, %v; want a Push with no delivery id", e, err)
	}
	if e, err := Parse(Generic, genericRequest(nil, "X-Nonstop-Event", "ping"), nil); err != nil || e.Kind != Ping {
		t.Errorf("ping: Parse = %+v, %v; want Ping", e, err)
	}
	if e, err := Parse(Generic, genericRequest(nil, "X-Nonstop-Event", "build"), nil); err != nil || e.Kind != Other {
		t.Errorf("build: Parse = %+v, %v; want Other", e, err)
	}
}

func TestGeneric_BareBranchNameIsABranch(t *testing.T) {
	body := []byte(`{"ref":"main","commit":"9FCEB02D0AE598E95DC970B74767F19372D61AF8","repository":"https://git.example.com/team/hello.git"}`)
	e, err := Parse(Generic, genericRequest(body), body)
	if err != nil || e.Ref != "refs/heads/main" || e.Branch != "main" || e.Commit != "9fceb02d0ae598e95dc970b74767f19372d61af8" {
		t.Fatalf("Parse = %+v, %v", e, err)
	}
}

func TestGeneric_DeletionIsDeleted(t *testing.T) {
	for _, body := range []string{
		`{"ref":"refs/heads/old","deleted":true,"repository":"file:///srv/git/hello.git"}`,
		`{"ref":"refs/heads/old","commit":"0000000000000000000000000000000000000000","repository":"file:///srv/git/hello.git"}`,
	} {
		e, err := Parse(Generic, genericRequest([]byte(body)), []byte(body))
		if err != nil || !e.Deleted || e.Branch != "old" || e.Commit != "" {
			t.Errorf("%s: Parse = %+v, %v; want a deleted push of old", body, e, err)
		}
	}
}

func TestParse_RefusesRefsAndCommitsUnsafeForGit(t *testing.T) {
	sha := "9fceb02d0ae598e95dc970b74767f19372d61af8"
	for _, body := range []string{
		`{"commit":"` + sha + `"}`,                                   // no ref
		`{"ref":"refs/heads/a..b","commit":"` + sha + `"}`,           // ..
		`{"ref":"main; rm -rf /","commit":"` + sha + `"}`,            // space
		`{"ref":"refs/heads/x\u0000y","commit":"` + sha + `"}`,       // control character
		`{"ref":"refs/heads/","commit":"` + sha + `"}`,               // empty name
		`{"ref":"refs/heads/x.lock","commit":"` + sha + `"}`,         // .lock
		`{"ref":"refs/heads/main"}`,                                  // no commit
		`{"ref":"refs/heads/main","commit":"HEAD~1"}`,                // not a sha
		`{"ref":"refs/heads/main","commit":"9fceb02"}`,               // abbreviated
		`{"ref":"refs/heads/main","commit":"--upload-pack=touch x"}`, // an option
	} {
		if e, err := Parse(Generic, genericRequest([]byte(body)), []byte(body)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Parse = %+v, %v; want ErrMalformed", body, e, err)
		}
	}
	// GitHub's payload goes through the same checks.
	body := []byte(`{"ref":"refs/heads/main","after":"not-a-sha","repository":{"clone_url":"https://github.com/o/r.git"}}`)
	if _, err := Parse(GitHub, githubRequest("push", body), body); !errors.Is(err, ErrMalformed) {
		t.Errorf("GitHub push with a bad after: err = %v; want ErrMalformed", err)
	}
}

func TestParse_SHA256CommitsAreAccepted(t *testing.T) {
	sha := "4f1e2b3a5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b"
	body := []byte(`{"ref":"refs/heads/main","commit":"` + sha + `"}`)
	if e, err := Parse(Generic, genericRequest(body), body); err != nil || e.Commit != sha {
		t.Fatalf("Parse = %+v, %v", e, err)
	}
}
