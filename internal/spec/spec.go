// Package spec defines nonstop.yaml, the app spec: its types, its defaults,
// and a strict parser that names the key and the line of every mistake.
package spec

import (
	"time"

	"github.com/nonstopdev/nonstop/internal/detect"
)

// FileName is the app spec's file name at the root of an app's source.
const FileName = "nonstop.yaml"

// Runtime names where an app's instances run.
type Runtime string

const (
	RuntimeProcess    Runtime = "process"
	RuntimeDocker     Runtime = "docker"
	RuntimeKubernetes Runtime = "kubernetes"
)

// Strategy names how a rollout moves traffic to a new release.
type Strategy string

const (
	StrategyRolling   Strategy = "rolling"
	StrategyBlueGreen Strategy = "bluegreen"
	StrategyCanary    Strategy = "canary"
)

// Spec is a parsed, defaulted and validated nonstop.yaml.
type Spec struct {
	Name    string  `yaml:"name" json:"name,omitempty"`
	Runtime Runtime `yaml:"runtime" json:"runtime"`
	Build   string  `yaml:"build" json:"build,omitempty"`
	// BuildLabels select the build worker that builds the app: one whose
	// labels include them all (e.g. [docker], [arm64]).
	BuildLabels []string `yaml:"build_labels" json:"build_labels,omitempty"`
	Run         string   `yaml:"run" json:"run,omitempty"`
	// Static, instead of run, is a folder of the source ("." for its
	// root) that nonstop serves itself as a static site.
	Static string `yaml:"static" json:"static,omitempty"`
	// Release runs once per release, after its build and before any of
	// its instances takes traffic (a migration); its failure refuses the
	// release. ReleaseHold, when set, holds the app's incoming requests
	// from its start until the new release alone serves.
	Release     string            `yaml:"release" json:"release,omitempty"`
	ReleaseHold time.Duration     `yaml:"release_hold" json:"release_hold,omitempty"`
	Port        int               `yaml:"port" json:"port,omitempty"`
	Instances   int               `yaml:"instances" json:"instances"`
	Health      Health            `yaml:"health" json:"health"`
	Deploy      Deploy            `yaml:"deploy" json:"deploy"`
	Env         map[string]string `yaml:"env" json:"env,omitempty"`
	Volumes     []Volume          `yaml:"volumes" json:"volumes,omitempty"`
	Resources   Resources         `yaml:"resources" json:"resources"`
	Kubernetes  Kubernetes        `yaml:"kubernetes" json:"kubernetes"`

	// Detected, set by Load, is how the source's kind was detected when
	// neither nonstop.yaml nor a Procfile said how to run it.
	Detected *detect.Plan `yaml:"-" json:"detected,omitempty"`

	// lines maps the key paths that Parse found ("deploy.max_surge") to
	// their line in nonstop.yaml. It tells an explicit 0 from a missing
	// key in ApplyDefaults, and gives Validate's errors their line. It is
	// nil in a Spec built in code or decoded from JSON.
	lines map[string]int
}

// Health is the active HTTP health check of an app's instances.
type Health struct {
	Path               string        `yaml:"path" json:"path"`
	Interval           time.Duration `yaml:"interval" json:"interval"`
	Timeout            time.Duration `yaml:"timeout" json:"timeout"`
	StartTimeout       time.Duration `yaml:"start_timeout" json:"start_timeout"`
	HealthyThreshold   int           `yaml:"healthy_threshold" json:"healthy_threshold"`
	UnhealthyThreshold int           `yaml:"unhealthy_threshold" json:"unhealthy_threshold"`
}

// Deploy says how a new release replaces the live one.
type Deploy struct {
	Strategy       Strategy      `yaml:"strategy" json:"strategy"`
	MaxSurge       int           `yaml:"max_surge" json:"max_surge"`
	MaxUnavailable int           `yaml:"max_unavailable" json:"max_unavailable"`
	DrainTimeout   time.Duration `yaml:"drain_timeout" json:"drain_timeout"`
	StopTimeout    time.Duration `yaml:"stop_timeout" json:"stop_timeout"`
	// Bake is how long after a rollout the new release stays under the
	// analysis's watch; a breach rolls back to the release before (0: none).
	Bake time.Duration `yaml:"bake" json:"bake,omitempty"`
	// Analysis is what the new release is judged by: between the batches
	// of a rolling rollout, and during the bake. Canary steps use the
	// canary's own.
	Analysis  Analysis   `yaml:"analysis" json:"analysis"`
	Canary    *Canary    `yaml:"canary" json:"canary,omitempty"`
	BlueGreen *BlueGreen `yaml:"bluegreen" json:"bluegreen,omitempty"`
}

// Canary is the plan of a canary rollout.
type Canary struct {
	Steps    []CanaryStep `yaml:"steps" json:"steps"`
	Analysis Analysis     `yaml:"analysis" json:"analysis"`
}

// CanaryStep sends Weight percent of traffic to the new release, then waits
// Pause, or for `nonstop promote` when Manual.
type CanaryStep struct {
	Weight int           `yaml:"weight" json:"weight"`
	Pause  time.Duration `yaml:"-" json:"pause"`
	Manual bool          `yaml:"-" json:"manual"`
}

// Analysis is what a canary must pass at each step.
type Analysis struct {
	Interval      time.Duration `yaml:"interval" json:"interval"`
	MinRequests   int           `yaml:"min_requests" json:"min_requests"`
	MaxErrorRate  float64       `yaml:"max_error_rate" json:"max_error_rate"`
	MaxP99Latency time.Duration `yaml:"max_p99_latency" json:"max_p99_latency"`
	// OnInconclusive is what a canary step does when its pause is over
	// and too few requests came to judge it (canary analysis only).
	OnInconclusive Inconclusive `yaml:"on_inconclusive" json:"on_inconclusive,omitempty"`
}

// Inconclusive is what a canary step whose analysis is still inconclusive
// does when its pause ends.
type Inconclusive string

const (
	// InconclusiveWait holds the step, saying so, until enough traffic
	// came or a user promotes or aborts (the default).
	InconclusiveWait Inconclusive = "wait"
	// InconclusivePromote goes on to the next step on health checks alone.
	InconclusivePromote Inconclusive = "promote"
	// InconclusiveRollback rolls the canary back.
	InconclusiveRollback Inconclusive = "rollback"
)

// BlueGreen is the plan of a blue-green rollout.
type BlueGreen struct {
	AutoPromoteAfter time.Duration `yaml:"auto_promote_after" json:"auto_promote_after"`
	KeepOldFor       time.Duration `yaml:"keep_old_for" json:"keep_old_for"`
}
