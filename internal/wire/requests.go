package wire

import "net/url"

// CreateAppRequest is the body of POST /api/v1/apps.
type CreateAppRequest struct {
	Name    string   `json:"name"`
	Domains []string `json:"domains"`
	// Team owns the app ("": the caller's first team).
	Team string `json:"team,omitempty"`
}

// AppSettings is the body of PATCH /api/v1/apps/{app}: where an app's code
// comes from and its domains; nil fields are left as they are.
type AppSettings struct {
	Repo    *string   `json:"repo,omitempty"`
	Branch  *string   `json:"branch,omitempty"`
	Poll    *string   `json:"poll,omitempty"` // a duration of at least 5s, or off
	Domains *[]string `json:"domains,omitempty"`
}

// DeployOptions say where an uploaded source archive comes from and how to
// roll it out; they travel in the query of POST /api/v1/apps/{app}/deploys.
type DeployOptions struct {
	Source   string // cli, push, upload...
	GitSHA   string // the source's commit, when known
	Strategy string // overrides nonstop.yaml's deploy.strategy when set
}

// Query is o as a query string's values; empty options are left out.
func (o DeployOptions) Query() url.Values {
	q := url.Values{}
	if o.Strategy != "" {
		q.Set("strategy", o.Strategy)
	}
	if o.Source != "" {
		q.Set("source", o.Source)
	}
	if o.GitSHA != "" {
		q.Set("sha", o.GitSHA)
	}
	return q
}

// DeployOptionsOf reads the options of an upload from its query.
func DeployOptionsOf(q url.Values) DeployOptions {
	return DeployOptions{Source: q.Get("source"), GitSHA: q.Get("sha"), Strategy: q.Get("strategy")}
}

// DeployRequest is the JSON body of POST /api/v1/apps/{app}/deploys (an
// upload's body is its archive instead): a prebuilt image with a spec (the
// given nonstop.yaml text, or else the live release's), or a git revision.
type DeployRequest struct {
	Image string  `json:"image"`
	Spec  string  `json:"spec,omitempty"`
	Git   *GitRef `json:"git,omitempty"`
}

// GitRef names a revision to fetch and deploy: a branch, a tag or a commit
// of a repository ("" for the app's own repository and branch).
type GitRef struct {
	URL string `json:"url"`
	Ref string `json:"ref"`
}

// RollbackRequest is the body of POST /api/v1/apps/{app}/rollback.
type RollbackRequest struct {
	To string `json:"to"` // "vN", "N", or empty for the previous live release
}

// ScaleRequest is the body of POST /api/v1/apps/{app}/scale.
type ScaleRequest struct {
	Instances int `json:"instances"`
}

// EnvRequest is the body of POST /api/v1/apps/{app}/env.
type EnvRequest struct {
	Set   map[string]string `json:"set"`
	Unset []string          `json:"unset"`
}

// SignalRequest is the optional body of POST /api/v1/apps/{app}/promote:
// Full promotes through all the canary's steps at once.
type SignalRequest struct {
	Full bool `json:"full"`
}

// HoldRequest is the optional body of POST /api/v1/apps/{app}/hold; zero
// fields take the server's defaults.
type HoldRequest struct {
	MaxWait  string `json:"max_wait,omitempty"`  // a Go duration, e.g. "30s"
	MaxQueue int    `json:"max_queue,omitempty"` // requests held at once
}
