package webhook

import "net/http"

// githubPush is the part of GitHub's push and ping payloads that nonstop
// reads.
type githubPush struct {
	Ref        string      `json:"ref"`
	After      string      `json:"after"`
	Deleted    bool        `json:"deleted"`
	Repository *githubRepo `json:"repository"`
	Pusher     struct {
		Name string `json:"name"`
	} `json:"pusher"`
	Sender struct {
		Login string `json:"login"`
	} `json:"sender"`
}

// githubRepo holds a repository's URLs. Its homepage is left out: on
// GitHub that is a free-text website, not the repository.
type githubRepo struct {
	CloneURL string `json:"clone_url"`
	GitURL   string `json:"git_url"`
	SSHURL   string `json:"ssh_url"`
	HTMLURL  string `json:"html_url"`
	URL      string `json:"url"`
}

func (r *githubRepo) urls() []string {
	if r == nil {
		return nil
	}
	return []string{r.CloneURL, r.GitURL, r.SSHURL, r.HTMLURL, r.URL}
}

func parseGitHub(h http.Header, body []byte) (*Event, error) {
	_, delivery := firstHeader(h, "X-GitHub-Delivery")
	_, name := firstHeader(h, "X-GitHub-Event")
	var p githubPush
	switch name {
	case "":
		return nil, malformed("no X-GitHub-Event header")
	case "ping":
		if err := decodePayload(h, body, &p); err != nil {
			return nil, err
		}
		return &Event{Kind: Ping, Delivery: delivery, RepoURLs: compact(p.Repository.urls())}, nil
	case "push":
		if err := decodePayload(h, body, &p); err != nil {
			return nil, err
		}
		pusher := p.Pusher.Name
		if pusher == "" {
			pusher = p.Sender.Login
		}
		return push{ref: p.Ref, after: p.After, deleted: p.Deleted, pusher: pusher, urls: p.Repository.urls()}.event(delivery)
	}
	return &Event{Kind: Other, Delivery: delivery}, nil
}
