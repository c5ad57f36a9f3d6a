package webhook

import "net/http"

// gitlabPush is the part of GitLab's Push Hook and Tag Push Hook payloads
// (and of the System Hook's push and tag_push) that nonstop reads.
type gitlabPush struct {
	ObjectKind   string `json:"object_kind"`
	EventName    string `json:"event_name"`
	Ref          string `json:"ref"`
	After        string `json:"after"`
	UserName     string `json:"user_name"`
	UserUsername string `json:"user_username"`
	Project      struct {
		WebURL     string `json:"web_url"`
		GitHTTPURL string `json:"git_http_url"`
		GitSSHURL  string `json:"git_ssh_url"`
		HTTPURL    string `json:"http_url"`
		SSHURL     string `json:"ssh_url"`
		Homepage   string `json:"homepage"`
		URL        string `json:"url"`
	} `json:"project"`
	Repository struct {
		GitHTTPURL string `json:"git_http_url"`
		GitSSHURL  string `json:"git_ssh_url"`
		Homepage   string `json:"homepage"`
		URL        string `json:"url"`
	} `json:"repository"`
}

func parseGitLab(h http.Header, body []byte) (*Event, error) {
	// Idempotency-Key (GitLab 17.4+) stays the same across retries.
	_, delivery := firstHeader(h, "Idempotency-Key", "X-Gitlab-Event-UUID", "X-Gitlab-Webhook-UUID")
	_, name := firstHeader(h, "X-Gitlab-Event")
	switch name {
	case "":
		return nil, malformed("no X-Gitlab-Event header")
	case "Push Hook", "Tag Push Hook", "System Hook":
	default:
		return &Event{Kind: Other, Delivery: delivery}, nil
	}
	var p gitlabPush
	if err := decodePayload(h, body, &p); err != nil {
		return nil, err
	}
	if name == "System Hook" {
		// Push events carry object_kind; the other system events only
		// event_name.
		kind := p.ObjectKind
		if kind == "" {
			kind = p.EventName
		}
		if kind != "push" && kind != "tag_push" {
			return &Event{Kind: Other, Delivery: delivery}, nil
		}
	}
	pusher := p.UserUsername
	if pusher == "" {
		pusher = p.UserName
	}
	pr, r := p.Project, p.Repository
	return push{ref: p.Ref, after: p.After, pusher: pusher, urls: []string{
		pr.GitHTTPURL, pr.GitSSHURL, pr.HTTPURL, pr.SSHURL, pr.WebURL, pr.Homepage, pr.URL,
		r.GitHTTPURL, r.GitSSHURL, r.Homepage, r.URL,
	}}.event(delivery)
}
