package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
)

// Header names of the signature schemes.
const (
	headerGitHubSignature  = "X-Hub-Signature-256"
	headerGitLabToken      = "X-Gitlab-Token"
	headerGiteaSignature   = "X-Gitea-Signature"
	headerForgejoSignature = "X-Forgejo-Signature"
	headerGenericSignature = "X-Nonstop-Signature"
)

// Verify checks that a webhook was sent by someone who knows secret, in
// forge f's own scheme, over body exactly as received (for GitHub also
// when it is form-encoded payload=...):
//
//   - GitHub: X-Hub-Signature-256: sha256=HEX, HMAC-SHA256(secret, body).
//   - GitLab: X-Gitlab-Token is the secret itself.
//   - Gitea, Forgejo: X-Gitea-Signature (or X-Forgejo-Signature): bare
//     HEX, HMAC-SHA256(secret, body).
//   - Generic: X-Nonstop-Signature: sha256=HEX, HMAC-SHA256(secret, body).
//
// Comparisons take constant time, and no error carries the expected
// value. An empty secret never verifies.
func Verify(f Forge, h http.Header, body []byte, secret string) error {
	if !f.Valid() {
		return fmt.Errorf("%w %q", ErrUnknownForge, string(f))
	}
	if secret == "" {
		return ErrNoSecret
	}
	switch f {
	case GitHub:
		return verifyPrefixedHMAC(h, headerGitHubSignature, body, secret)
	case GitLab:
		return verifyToken(h, headerGitLabToken, secret)
	case Gitea:
		name := headerGiteaSignature
		if h.Get(name) == "" && h.Get(headerForgejoSignature) != "" {
			name = headerForgejoSignature
		}
		sig := h.Get(name)
		if sig == "" {
			return fmt.Errorf("%w: no %s or %s header", ErrMissingSignature, headerGiteaSignature, headerForgejoSignature)
		}
		return compareHMAC(name, sig, body, secret)
	default: // Generic
		return verifyPrefixedHMAC(h, headerGenericSignature, body, secret)
	}
}

// verifyPrefixedHMAC checks a "sha256=HEX" header.
func verifyPrefixedHMAC(h http.Header, name string, body []byte, secret string) error {
	v := h.Get(name)
	if v == "" {
		return fmt.Errorf("%w: no %s header", ErrMissingSignature, name)
	}
	hexSig, ok := strings.CutPrefix(v, "sha256=")
	if !ok {
		return fmt.Errorf("%w: %s is not sha256=HEX", ErrSignatureMismatch, name)
	}
	return compareHMAC(name, hexSig, body, secret)
}

// compareHMAC checks hexSig against HMAC-SHA256(secret, body).
func compareHMAC(name, hexSig string, body []byte, secret string) error {
	got, err := hex.DecodeString(strings.TrimSpace(hexSig))
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: %s is not a hex SHA-256 HMAC", ErrSignatureMismatch, name)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ErrSignatureMismatch
	}
	return nil
}

// verifyToken checks a header that carries the secret itself. Both sides
// are hashed first so that the comparison does not reveal the secret's
// length either.
func verifyToken(h http.Header, name, secret string) error {
	v := h.Get(name)
	if v == "" {
		return fmt.Errorf("%w: no %s header", ErrMissingSignature, name)
	}
	got, want := sha256.Sum256([]byte(v)), sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return ErrSignatureMismatch
	}
	return nil
}
