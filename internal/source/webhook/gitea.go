package webhook

import "net/http"

// giteaPush is the part of Gitea's (and Forgejo's) push payload that
// nonstop reads.
type giteaPush struct {
	Ref        string `json:"ref"`
	After      string `json:"after"`
	Repository struct {
		CloneURL string `json:"clone_url"`
		SSHURL   string `json:"ssh_url"`
		HTMLURL  string `json:"html_url"`
		URL      string `json:"url"`
		// website is left out: it is free text, not the repository.
	} `json:"repository"`
	Pusher giteaUser `json:"pusher"`
	Sender giteaUser `json:"sender"`
}

type giteaUser struct {
	Login    string `json:"login"`
	Username string `json:"username"`
}

func (u giteaUser) name() string {
	if u.Login != "" {
		return u.Login
	}
	return u.Username
}

func parseGitea(h http.Header, body []byte) (*Event, error) {
	_, delivery := firstHeader(h, "X-Gitea-Delivery", "X-Forgejo-Delivery")
	_, name := firstHeader(h, "X-Gitea-Event", "X-Forgejo-Event")
	switch name {
	case "":
		return nil, malformed("no X-Gitea-Event or X-Forgejo-Event header")
	case "push": // also the test delivery: Gitea has no ping
	default:
		return &Event{Kind: Other, Delivery: delivery}, nil
	}
	var p giteaPush
	if err := decodePayload(h, body, &p); err != nil {
		return nil, err
	}
	pusher := p.Pusher.name()
	if pusher == "" {
		pusher = p.Sender.name()
	}
	r := p.Repository
	return push{ref: p.Ref, after: p.After, pusher: pusher,
		urls: []string{r.CloneURL, r.SSHURL, r.HTMLURL, r.URL}}.event(delivery)
}
