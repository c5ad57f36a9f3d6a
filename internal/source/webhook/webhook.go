// Package webhook verifies and reads forges' push webhooks.
//
// A request to /hooks/{forge}/{app} is handled in two steps: Verify checks
// it against the app's webhook secret in that forge's own scheme, on the
// raw body exactly as received; only then does Parse read the event.
// Verify and Parse do no I/O: the caller reads (and bounds) the body.
//
// Every error Verify returns means the request must be refused (401);
// every error Parse returns wraps ErrMalformed (400), except for an
// unknown forge (ErrUnknownForge).
package webhook

import (
	"errors"
	"fmt"
)

// Forge names a sender of webhooks, and so its headers, its signature
// scheme and its payload format. It is the {forge} of /hooks/{forge}/{app}.
type Forge string

const (
	GitHub Forge = "github"
	GitLab Forge = "gitlab"
	// Gitea also stands for Forgejo, which sends the same payloads with
	// X-Forgejo-* headers as well as (or instead of) X-Gitea-*.
	Gitea Forge = "gitea"
	// Generic is for any sender that can compute an HMAC: a CI job, a
	// script, a forge without its own scheme. See Parse for its payload.
	Generic Forge = "generic"
)

// Forges lists every known forge, in the order `nonstop apps webhook`
// prints them.
func Forges() []Forge { return []Forge{GitHub, GitLab, Gitea, Generic} }

// ParseForge reads a forge's name as it appears in a webhook URL.
// "forgejo" is read as Gitea.
func ParseForge(s string) (Forge, error) {
	switch f := Forge(s); f {
	case GitHub, GitLab, Gitea, Generic:
		return f, nil
	case "forgejo":
		return Gitea, nil
	}
	return "", fmt.Errorf("%w %q (want github, gitlab, gitea or generic)", ErrUnknownForge, s)
}

// Valid reports whether f is one of the known forges.
func (f Forge) Valid() bool {
	switch f {
	case GitHub, GitLab, Gitea, Generic:
		return true
	}
	return false
}

// Kind is what a webhook announces.
type Kind string

const (
	// Push: refs were updated (a branch or a tag pushed, or deleted).
	Push Kind = "push"
	// Ping: the forge checks that the hook is reachable; answer 200.
	Ping Kind = "ping"
	// Other: any other event (issues, merge requests, ...); ignore it.
	Other Kind = "other"
)

// Event is what a webhook says, whatever forge sent it.
type Event struct {
	Kind Kind
	// Delivery is the forge's id for this delivery, the same when the
	// forge redelivers it; "" when the forge sent none. For dedupe.
	Delivery string
	// Ref is the full ref pushed: refs/heads/main, refs/tags/v1.
	Ref string
	// Branch is Ref without refs/heads/ when Ref is a branch, else "".
	Branch string
	// Commit is the pushed head (lowercase hex, 40 or 64 digits); ""
	// when Deleted.
	Commit string
	// Deleted is set when the push deleted Ref.
	Deleted bool
	// RepoURLs holds every URL the payload gives for the repository
	// (clone, ssh, web), as sent; compare with MatchesRepo.
	RepoURLs []string
	// Pusher is who pushed, as the forge names them; may be "".
	Pusher string
}

var (
	// ErrUnknownForge: the forge is not one of Forges().
	ErrUnknownForge = errors.New("unknown forge")
	// ErrNoSecret: the app has no webhook secret, so nothing verifies.
	ErrNoSecret = errors.New("webhook secret is empty")
	// ErrMissingSignature: the request carries no signature header; the
	// error's text names the header.
	ErrMissingSignature = errors.New("missing signature")
	// ErrSignatureMismatch: the signature is malformed or not the one
	// the secret gives.
	ErrSignatureMismatch = errors.New("signature does not match")
	// ErrMalformed: the headers or the payload cannot be read.
	ErrMalformed = errors.New("malformed webhook")
)
