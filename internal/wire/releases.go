package wire

import (
	"encoding/json"
	"time"
)

// ReleaseStatus is a release's place in the app's history.
type ReleaseStatus string

const (
	ReleasePending ReleaseStatus = "pending" // being rolled out
	ReleaseLive    ReleaseStatus = "live"    // serving
	ReleaseRetired ReleaseStatus = "retired" // was live, replaced since
	ReleaseFailed  ReleaseStatus = "failed"  // its rollout failed: it never served alone
)

// Release is an immutable artifact plus its configuration.
type Release struct {
	Version int `json:"version"`
	Build   int `json:"build"`
	// Image is what container runtimes run: a pinned REPO@sha256:... (or a
	// local image ID when no registry is set); "" for the process runtime.
	Image string `json:"image,omitempty"`
	// Spec is the release's nonstop.yaml, parsed, defaulted and validated,
	// as JSON (its shape is the spec package's).
	Spec        json.RawMessage `json:"spec"`
	Description string          `json:"description"`
	Status      ReleaseStatus   `json:"status"`
	CreatedAt   time.Time       `json:"created_at"`
	// CanRollBackTo says whether the app can be rolled back to it (a
	// release that served, not the live one, still kept); in listings.
	CanRollBackTo bool `json:"can_roll_back_to,omitempty"`
}
