package webhook

import (
	"net/http"
	"strings"
)

// genericPush is nonstop's own payload; see Parse.
type genericPush struct {
	Ref        string `json:"ref"`
	Commit     string `json:"commit"`
	Repository string `json:"repository"`
	Deleted    bool   `json:"deleted"`
	Pusher     string `json:"pusher"`
}

func parseGeneric(h http.Header, body []byte) (*Event, error) {
	_, delivery := firstHeader(h, "X-Nonstop-Delivery")
	_, name := firstHeader(h, "X-Nonstop-Event")
	switch strings.ToLower(name) {
	case "", "push":
	case "ping":
		return &Event{Kind: Ping, Delivery: delivery}, nil
	default:
		return &Event{Kind: Other, Delivery: delivery}, nil
	}
	var p genericPush
	if err := decodePayload(h, body, &p); err != nil {
		return nil, err
	}
	ref := strings.TrimSpace(p.Ref)
	if ref != "" && !strings.HasPrefix(ref, "refs/") {
		ref = "refs/heads/" + ref
	}
	return push{ref: ref, after: p.Commit, deleted: p.Deleted, pusher: p.Pusher,
		urls: []string{p.Repository}}.event(delivery)
}
