package webhook

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// signedHeader returns the header that carries a signature of body under
// secret in forge f's scheme.
func signedHeader(f Forge, secret string, body []byte) http.Header {
	switch f {
	case GitHub:
		return header("X-Hub-Signature-256", "sha256="+sign(secret, body))
	case GitLab:
		return header("X-Gitlab-Token", secret)
	case Gitea:
		return header("X-Gitea-Signature", sign(secret, body))
	default:
		return header("X-Nonstop-Signature", "sha256="+sign(secret, body))
	}
}

var signatureHeaders = map[Forge]string{
	GitHub:  "X-Hub-Signature-256",
	GitLab:  "X-Gitlab-Token",
	Gitea:   "X-Gitea-Signature",
	Generic: "X-Nonstop-Signature",
}

func TestVerify_GitHubDocumentedExample(t *testing.T) {
	// The test values of GitHub's "Validating webhook deliveries".
	h := header("X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
	if err := Verify(GitHub, h, []byte("Hello, World!"), "It's a Secret to Everybody"); err != nil {
		t.Fatal(err)
	}
}

func TestVerify_AcceptsEachForgesOwnScheme(t *testing.T) {
	body := []byte(`{"ref":"refs/heads/main"}`)
	for _, f := range Forges() {
		if err := Verify(f, signedHeader(f, testSecret, body), body, testSecret); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestVerify_RefusesAnotherSecretWithoutEchoingTheExpectedValue(t *testing.T) {
	body := []byte(`{"ref":"refs/heads/main"}`)
	for _, f := range Forges() {
		err := Verify(f, signedHeader(f, "not the secret", body), body, testSecret)
		if !errors.Is(err, ErrSignatureMismatch) || err.Error() != "signature does not match" {
			t.Errorf("%s: err = %v; want exactly %q", f, err, ErrSignatureMismatch)
			continue
		}
		if strings.Contains(err.Error(), sign(testSecret, body)) || strings.Contains(err.Error(), testSecret) {
			t.Errorf("%s: the error gives the expected value away: %v", f, err)
		}
	}
}

func TestVerify_RefusesATamperedBody(t *testing.T) {
	body := []byte(`{"ref":"refs/heads/main"}`)
	for _, f := range []Forge{GitHub, Gitea, Generic} { // GitLab's token does not cover the body
		h := signedHeader(f, testSecret, body)
		if err := Verify(f, h, []byte(`{"ref":"refs/heads/evil"}`), testSecret); !errors.Is(err, ErrSignatureMismatch) {
			t.Errorf("%s: err = %v; want ErrSignatureMismatch", f, err)
		}
	}
}

func TestVerify_MissingSignatureNamesTheHeader(t *testing.T) {
	body := []byte(`{}`)
	for _, f := range Forges() {
		err := Verify(f, header("Content-Type", "application/json"), body, testSecret)
		if !errors.Is(err, ErrMissingSignature) || !strings.Contains(err.Error(), signatureHeaders[f]) {
			t.Errorf("%s: err = %v; want ErrMissingSignature naming %s", f, err, signatureHeaders[f])
		}
	}
}

func TestVerify_EmptySecretAlwaysFails(t *testing.T) {
	body := []byte(`{}`)
	for _, f := range Forges() {
		// Even a request "signed" with the empty secret.
		if err := Verify(f, signedHeader(f, "", body), body, ""); !errors.Is(err, ErrNoSecret) {
			t.Errorf("%s: err = %v; want ErrNoSecret", f, err)
		}
	}
}

func TestVerify_RefusesMalformedSignatures(t *testing.T) {
	body := []byte(`{}`)
	good := sign(testSecret, body)
	cases := []struct {
		forge Forge
		h     http.Header
	}{
		{GitHub, header("X-Hub-Signature-256", good)},                 // no sha256= prefix
		{GitHub, header("X-Hub-Signature-256", "sha1="+good)},         // another algorithm
		{GitHub, header("X-Hub-Signature-256", "sha256=zz"+good[2:])}, // not hex
		{GitHub, header("X-Hub-Signature-256", "sha256="+good[:32])},  // too short
		{Gitea, header("X-Gitea-Signature", "sha256="+good)},          // Gitea's is bare hex
		{Generic, header("X-Nonstop-Signature", good+"00")},           // too long, no prefix
	}
	for _, c := range cases {
		if err := Verify(c.forge, c.h, body, testSecret); !errors.Is(err, ErrSignatureMismatch) {
			t.Errorf("%s %v: err = %v; want ErrSignatureMismatch", c.forge, c.h, err)
		}
	}
}

func TestVerify_HexCaseDoesNotMatter(t *testing.T) {
	body := []byte(`{}`)
	h := header("X-Gitea-Signature", strings.ToUpper(sign(testSecret, body)))
	if err := Verify(Gitea, h, body, testSecret); err != nil {
		t.Fatal(err)
	}
}

func TestVerify_ForgejoSignatureHeader(t *testing.T) {
	body := fixture(t, "gitea/push.json")
	h := header("X-Forgejo-Signature", sign(testSecret, body))
	if err := Verify(Gitea, h, body, testSecret); err != nil {
		t.Fatal(err)
	}
	h = header("X-Forgejo-Signature", sign("other", body))
	if err := Verify(Gitea, h, body, testSecret); !errors.Is(err, ErrSignatureMismatch) {
		t.Fatalf("err = %v; want ErrSignatureMismatch", err)
	}
}

func TestVerify_GitLabTokenMustBeExact(t *testing.T) {
	for _, tok := range []string{testSecret + " ", testSecret[:5], strings.ToUpper(testSecret)} {
		if err := Verify(GitLab, header("X-Gitlab-Token", tok), nil, testSecret); !errors.Is(err, ErrSignatureMismatch) {
			t.Errorf("token %q: err = %v; want ErrSignatureMismatch", tok, err)
		}
	}
}

func TestVerify_UnknownForgeFails(t *testing.T) {
	if err := Verify("bitbucket", header(), nil, testSecret); !errors.Is(err, ErrUnknownForge) {
		t.Fatalf("err = %v; want ErrUnknownForge", err)
	}
}
