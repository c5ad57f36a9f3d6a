package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// Parse reads the event a webhook announces. Call it after Verify.
//
// The kind comes from the forge's event header: X-GitHub-Event (push,
// ping), X-Gitlab-Event (Push Hook, Tag Push Hook, and System Hook when
// its object_kind is push or tag_push), X-Gitea-Event or X-Forgejo-Event
// (push: Gitea has no ping, its test delivery is a push), X-Nonstop-Event
// (push, the default, or ping). Any other event is Other, and its body is
// not read. The delivery id comes from X-GitHub-Delivery; Idempotency-Key,
// X-Gitlab-Event-UUID or X-Gitlab-Webhook-UUID; X-Gitea-Delivery or
// X-Forgejo-Delivery; X-Nonstop-Delivery.
//
// Bodies are JSON, or form-encoded with the JSON in a payload field
// (GitHub's and Gitea's "application/x-www-form-urlencoded" content type).
//
// The generic payload, for any sender:
//
//	{
//	  "ref":        "refs/heads/main",   // or a bare branch name: "main"
//	  "commit":     "<40 or 64 hex digits>",
//	  "repository": "https://git.example.com/team/app.git",
//	  "deleted":    false,               // optional: the ref was deleted
//	  "pusher":     "ci"                 // optional
//	}
//
// signed with X-Nonstop-Signature: sha256=HEX (see Verify); commit may be
// left out only when deleted is true.
//
// A push must name a well-formed ref and, unless it deletes the ref, a
// commit: both go on to git.
func Parse(f Forge, h http.Header, body []byte) (*Event, error) {
	switch f {
	case GitHub:
		return parseGitHub(h, body)
	case GitLab:
		return parseGitLab(h, body)
	case Gitea:
		return parseGitea(h, body)
	case Generic:
		return parseGeneric(h, body)
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownForge, string(f))
}

// firstHeader returns the first of names that h carries, and its value.
func firstHeader(h http.Header, names ...string) (name, value string) {
	for _, n := range names {
		if v := strings.TrimSpace(h.Get(n)); v != "" {
			return n, v
		}
	}
	return "", ""
}

// malformed makes a Parse error.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// decodePayload unmarshals a JSON body, or the payload field of a
// form-encoded one, into v.
func decodePayload(h http.Header, body []byte, v any) error {
	data := body
	if isForm(h, body) {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return malformed("form body: %v", err)
		}
		p := form.Get("payload")
		if p == "" {
			return malformed("form body has no payload field")
		}
		data = []byte(p)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return malformed("empty payload")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return malformed("payload is not valid JSON: %v", err)
	}
	return nil
}

// isForm reports whether body is form-encoded: by its content type, or,
// when none is given, by its first bytes.
func isForm(h http.Header, body []byte) bool {
	if ct := h.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		return err == nil && mt == "application/x-www-form-urlencoded"
	}
	return bytes.HasPrefix(body, []byte("payload="))
}

// push is what every forge's push payload comes down to.
type push struct {
	ref, after, pusher string
	deleted            bool
	urls               []string
}

// event checks a push and turns it into an Event.
func (p push) event(delivery string) (*Event, error) {
	if !validRef(p.ref) {
		if p.ref == "" {
			return nil, malformed("push names no ref")
		}
		return nil, malformed("push names an invalid ref %q", p.ref)
	}
	e := &Event{Kind: Push, Delivery: delivery, Ref: p.ref, Pusher: p.pusher}
	if b, ok := strings.CutPrefix(p.ref, "refs/heads/"); ok {
		e.Branch = b
	}
	after := strings.ToLower(strings.TrimSpace(p.after))
	switch {
	case p.deleted || (after != "" && strings.Trim(after, "0") == ""):
		e.Deleted = true
	case after == "":
		return nil, malformed("push to %s names no commit", p.ref)
	case !validSHA(after):
		return nil, malformed("push to %s names an invalid commit %q", p.ref, p.after)
	default:
		e.Commit = after
	}
	e.RepoURLs = compact(p.urls)
	return e, nil
}

// compact drops empty and repeated URLs, keeping the order.
func compact(urls []string) []string {
	var out []string
	seen := make(map[string]bool)
	for _, u := range urls {
		u = strings.TrimSpace(u)
		if u == "" || seen[u] {
			continue
		}
		seen[u] = true
		out = append(out, u)
	}
	return out
}

// validSHA reports whether s is a full lowercase hex object name (SHA-1
// or SHA-256).
func validSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// validRef reports whether ref is a full ref name git would accept (the
// rules of git check-ref-format), so that it is safe to hand to git.
func validRef(ref string) bool {
	if !strings.HasPrefix(ref, "refs/") || len(ref) > 1024 {
		return false
	}
	if strings.Contains(ref, "..") || strings.Contains(ref, "@{") || strings.HasSuffix(ref, ".") {
		return false
	}
	for _, part := range strings.Split(ref, "/") {
		if part == "" || strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".lock") {
			return false
		}
	}
	for i := 0; i < len(ref); i++ {
		c := ref[i]
		if c < 0x20 || c == 0x7f || strings.IndexByte(" ~^:?*[\\", c) >= 0 {
			return false
		}
	}
	return true
}
