package wire

import "time"

// AppState is whether an app is meant to be serving.
type AppState string

const (
	AppNew     AppState = "new"     // created, never deployed
	AppRunning AppState = "running" // its live release is meant to be serving
	AppStopped AppState = "stopped" // instances down, maintenance page served
)

// App is an app as the API shows it (GET /api/v1/apps, and the answer to
// creating or changing one).
type App struct {
	Name        string   `json:"name"`
	Domains     []string `json:"domains"`
	State       AppState `json:"state"`
	LiveRelease int      `json:"live_release"`
	// Instances overrides the spec's instance count once the app was scaled (0: the spec's).
	Instances int `json:"instances,omitempty"`
	// Hold, when set, says the proxy holds the app's incoming requests.
	Hold      *Hold     `json:"hold,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Source is where the app's code comes from, for webhooks and polling.
	Source Source `json:"source"`
	// URLs are where the app is served.
	URLs []string `json:"urls"`
}

// Source is where an app's code comes from and which branch deploys; the
// repository's credentials are never shown.
type Source struct {
	Repo   string        `json:"repo,omitempty"`
	Branch string        `json:"branch"`
	Poll   time.Duration `json:"poll,omitempty"` // 0: not polled
}

// AppStatus is everything `nonstop status` shows (GET /api/v1/apps/{app}).
// Its Instances are the app's instances; the App's own instance count is
// not part of it.
type AppStatus struct {
	App
	Live    *Release `json:"live,omitempty"`
	Rollout *Rollout `json:"rollout,omitempty"`
	// Waiting says what the rollout in progress waits for (a promote,
	// traffic to judge a canary by) and what to do, when it waits.
	Waiting   string     `json:"waiting,omitempty"`
	Instances []Instance `json:"instances"`
	// Problems are what nonstop could not record of the app's rollouts
	// (a final state the store refused), until it is recorded.
	Problems []string `json:"problems,omitempty"`
	// Actions are what the caller may do to the app now: deploy, env,
	// scale, stop, start, rollback, promote, pause, resume, abort (none
	// for a viewer).
	Actions []string `json:"actions"`
}

// EnvVar is one environment variable as the API shows it: the value only
// when asked for with ?reveal=1, so that listings do not spill secrets.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}
