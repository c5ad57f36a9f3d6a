package spec

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// designExample is the nonstop.yaml of DESIGN.md, comments and all.
const designExample = `name: hello                 # optional when --app is given
runtime: process            # process | docker | kubernetes; default: docker when a Dockerfile is present, else process
build: go build -o app .    # process runtime: build command, run in the release directory
run: ./app                  # process runtime: start command; it must listen on $PORT
port: 8080                  # the port a container listens on
instances: 2
health:
  path: /healthz            # HTTP GET; 2xx/3xx = healthy
  interval: 1s
  timeout: 2s
  start_timeout: 60s        # a new instance must be healthy by then, or the rollout fails
deploy:
  strategy: rolling         # rolling | bluegreen | canary
  max_surge: 1
  max_unavailable: 0
  drain_timeout: 30s
  canary:                   # when strategy is canary
    steps:
      - weight: 10          # percent of traffic to the new release
        pause: 30s          # or "manual": wait for ` + "`nonstop promote`" + `
      - weight: 50
        pause: 30s
    analysis:
      interval: 5s
      min_requests: 50      # fewer in a window: inconclusive, the step holds
      max_error_rate: 0.05  # share of 5xx and connection errors
      max_p99_latency: 1s
  bluegreen:                # when strategy is bluegreen
    auto_promote_after: 0s  # 0 = wait for ` + "`nonstop promote`" + `
    keep_old_for: 10m       # the old set stays warm for instant rollback
env:
  GREETING: hello
`

func TestParse_DesignExample(t *testing.T) {
	got, err := Parse([]byte(designExample))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := &Spec{
		Name:      "hello",
		Runtime:   RuntimeProcess,
		Build:     "go build -o app .",
		Run:       "./app",
		Port:      8080,
		Instances: 2,
		Health: Health{
			Path:         "/healthz",
			Interval:     time.Second,
			Timeout:      2 * time.Second,
			StartTimeout: 60 * time.Second,
		},
		Deploy: Deploy{
			Strategy:       StrategyRolling,
			MaxSurge:       1,
			MaxUnavailable: 0,
			DrainTimeout:   30 * time.Second,
			Canary: &Canary{
				Steps: []CanaryStep{
					{Weight: 10, Pause: 30 * time.Second},
					{Weight: 50, Pause: 30 * time.Second},
				},
				Analysis: Analysis{
					Interval:      5 * time.Second,
					MinRequests:   50,
					MaxErrorRate:  0.05,
					MaxP99Latency: time.Second,
				},
			},
			BlueGreen: &BlueGreen{AutoPromoteAfter: 0, KeepOldFor: 10 * time.Minute},
		},
		Env: map[string]string{"GREETING": "hello"},
	}
	got.lines = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse(design example)\n got %+v\nwant %+v", got, want)
	}
}

func TestParse_DesignExampleIsValidOnceDefaulted(t *testing.T) {
	s, err := Parse([]byte(designExample))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	s.ApplyDefaults(false)
	if err := s.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if s.Health.HealthyThreshold != 1 || s.Deploy.StopTimeout != 10*time.Second {
		t.Errorf("defaults not applied to the keys the example leaves out: %+v", s)
	}
}

func TestParse_EmptyFileIsEmptySpec(t *testing.T) {
	for _, data := range []string{"", "\n\n", "# only a comment\n", "---\n", "~\n"} {
		s, err := Parse([]byte(data))
		if err != nil {
			t.Errorf("Parse(%q): %v", data, err)
			continue
		}
		if s.Runtime != "" || s.Instances != 0 || s.Deploy.Canary != nil {
			t.Errorf("Parse(%q) = %+v, want an empty spec", data, s)
		}
	}
}

func TestParse_UnknownKeyNamesKeyAndLine(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"top level", "name: hello\nrun: ./app\n\n\n\n\nhelth:\n  path: /\n",
			`nonstop.yaml:7: unknown key "helth" (known: name, runtime, build, build_labels, run, static, release, release_hold, port, instances, health, deploy, env, volumes, resources, kubernetes)`},
		{"in health", "health:\n  pth: /\n",
			`nonstop.yaml:2: health: unknown key "pth" (known: path, interval, timeout, start_timeout, healthy_threshold, unhealthy_threshold)`},
		{"in a canary step", "deploy:\n  canary:\n    steps:\n      - weight: 10\n        wait: 1s\n",
			`nonstop.yaml:5: deploy.canary.steps[0]: unknown key "wait" (known: weight, pause)`},
		{"in analysis", "deploy:\n  canary:\n    analysis:\n      p99: 1s\n",
			`nonstop.yaml:4: deploy.canary.analysis: unknown key "p99" (known: interval, min_requests, max_error_rate, max_p99_latency, on_inconclusive)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertParseError(t, tt.yaml, tt.want)
		})
	}
}

func TestParse_BadValueNamesKeyAndLine(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"instances not a number", "name: hello\nrun: ./app\nport: 80\ninstances: two\n",
			`nonstop.yaml:4: instances: must be a whole number >= 1, got "two"`},
		{"instances a fraction", "instances: 1.5\n",
			`nonstop.yaml:1: instances: must be a whole number >= 1, got "1.5"`},
		{"instances empty", "instances:\n",
			`nonstop.yaml:1: instances: must be a whole number >= 1, got nothing`},
		{"port a list", "port: [80, 443]\n",
			`nonstop.yaml:1: port: must be a whole number from 0 to 65535, got a list`},
		{"duration", "name: hello\n\n\n\n\n\n\nhealth:\n  interval: fast\n",
			`nonstop.yaml:9: health.interval: invalid duration "fast" (use e.g. 1s, 500ms)`},
		{"duration without unit", "deploy:\n  drain_timeout: 30\n",
			`nonstop.yaml:2: deploy.drain_timeout: invalid duration "30" (use e.g. 1s, 500ms)`},
		{"pause", "deploy:\n  canary:\n    steps:\n      - weight: 10\n        pause: soon\n",
			`nonstop.yaml:5: deploy.canary.steps[0].pause: invalid pause "soon" (use a duration such as 30s, or "manual")`},
		{"error rate", "deploy:\n  canary:\n    analysis:\n      max_error_rate: 5%\n",
			`nonstop.yaml:4: deploy.canary.analysis.max_error_rate: must be a number from 0 to 1, e.g. 0.05, got "5%"`},
		{"section not a mapping", "health: /healthz\n",
			`nonstop.yaml:1: health: must be a mapping of keys, got "/healthz"`},
		{"steps not a list", "deploy:\n  canary:\n    steps: 10\n",
			`nonstop.yaml:3: deploy.canary.steps: must be a list of steps (- weight: 10), got "10"`},
		{"env value a mapping", "env:\n  A: 1\n  B:\n    c: d\n",
			`nonstop.yaml:4: env.B: must be a string, got a mapping`},
		{"run a list", "run:\n  - ./app\n",
			`nonstop.yaml:2: run: must be a string, got a list`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertParseError(t, tt.yaml, tt.want)
		})
	}
}

func TestParse_DuplicateKeyIsError(t *testing.T) {
	assertParseError(t, "name: a\nrun: ./app\nname: b\n",
		`nonstop.yaml:3: duplicate key "name" (first at line 1)`)
	assertParseError(t, "env:\n  A: 1\n  A: 2\n",
		`nonstop.yaml:3: env: duplicate key "A" (first at line 2)`)
}

func TestParse_TopLevelMustBeMapping(t *testing.T) {
	assertParseError(t, "- name: hello\n",
		`nonstop.yaml:1: the top level must be a mapping of keys (name: value), got a list`)
	assertParseError(t, "hello\n",
		`nonstop.yaml:1: the top level must be a mapping of keys (name: value), got "hello"`)
}

func TestParse_ReportsEveryErrorInOrder(t *testing.T) {
	_, err := Parse([]byte("instances: two\nhelth: {}\nhealth:\n  timeout: soon\n"))
	want := `nonstop.yaml:1: instances: must be a whole number >= 1, got "two"
nonstop.yaml:2: unknown key "helth" (known: name, runtime, build, build_labels, run, static, release, release_hold, port, instances, health, deploy, env, volumes, resources, kubernetes)
nonstop.yaml:4: health.timeout: invalid duration "soon" (use e.g. 1s, 500ms)`
	if err == nil || err.Error() != want {
		t.Fatalf("Parse error:\n%v\nwant:\n%s", err, want)
	}
	var first *Error
	if !errors.As(err, &first) || first.Line != 1 || first.Key != "instances" {
		t.Errorf("errors.As(*Error) = %+v, want line 1, key instances", first)
	}
}

func TestParse_SyntaxErrorHasLine(t *testing.T) {
	_, err := Parse([]byte("name: hello\nrun: ./app\n  port: 80\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "nonstop.yaml:3: invalid YAML: ") {
		t.Errorf("Parse error = %v, want it to start with nonstop.yaml:3: invalid YAML: ", err)
	}
}

func TestParse_SecondDocumentIsError(t *testing.T) {
	assertParseError(t, "name: a\n---\nname: b\n",
		"nonstop.yaml:2: a second YAML document: nonstop.yaml holds one (remove the ---)")
}

func TestParse_PauseManualSetsManual(t *testing.T) {
	s, err := Parse([]byte("deploy:\n  canary:\n    steps:\n      - weight: 10\n        pause: manual\n      - weight: 50\n        pause: 500ms\n"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := []CanaryStep{{Weight: 10, Manual: true}, {Weight: 50, Pause: 500 * time.Millisecond}}
	if !reflect.DeepEqual(s.Deploy.Canary.Steps, want) {
		t.Errorf("steps = %+v, want %+v", s.Deploy.Canary.Steps, want)
	}
}

func TestParse_EnvValuesAreText(t *testing.T) {
	s, err := Parse([]byte("env:\n  N: 8080\n  B: true\n  E:\n  Q: \"x: y\"\n"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := map[string]string{"N": "8080", "B": "true", "E": "", "Q": "x: y"}
	if !reflect.DeepEqual(s.Env, want) {
		t.Errorf("env = %v, want %v", s.Env, want)
	}
}

func TestParse_FollowsAliases(t *testing.T) {
	s, err := Parse([]byte("health:\n  interval: &d 3s\n  timeout: *d\n"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if s.Health.Timeout != 3*time.Second {
		t.Errorf("health.timeout = %v, want 3s from the alias", s.Health.Timeout)
	}
}

// assertParseError checks that Parse(yaml) fails with exactly want.
func assertParseError(t *testing.T, yaml, want string) {
	t.Helper()
	s, err := Parse([]byte(yaml))
	if err == nil {
		t.Fatalf("Parse(%q) = %+v, want error %q", yaml, s, want)
	}
	if err.Error() != want {
		t.Errorf("Parse(%q) error:\n got %s\nwant %s", yaml, err, want)
	}
}

func TestParse_BuildLabelsAreAListOfLabels(t *testing.T) {
	s, err := Parse([]byte("build_labels: [docker, arm64]\n"))
	if err != nil || len(s.BuildLabels) != 2 || s.BuildLabels[1] != "arm64" {
		t.Fatalf("got %+v, %v", s, err)
	}
	_, err = Parse([]byte("build_labels: docker\n"))
	if err == nil || !strings.Contains(err.Error(), "nonstop.yaml:1: build_labels: must be a list") {
		t.Fatalf("a label that is not a list: %v", err)
	}
	s, _ = Parse([]byte("run: ./app\nbuild_labels: [\"no spaces\"]\n"))
	s.ApplyDefaults(false)
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "build_labels[0]") {
		t.Fatalf("a bad label: %v", err)
	}
}
