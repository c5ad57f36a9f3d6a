package spec

import (
	"reflect"
	"testing"
	"time"
)

// defaulted parses yaml and applies the defaults.
func defaulted(t *testing.T, yaml string, hasDockerfile bool) *Spec {
	t.Helper()
	s, err := Parse([]byte(yaml))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	s.ApplyDefaults(hasDockerfile)
	return s
}

func TestApplyDefaults_EmptyFileGetsEveryDefault(t *testing.T) {
	got := defaulted(t, "", false)
	got.lines = nil
	want := &Spec{
		Runtime:   RuntimeProcess,
		Instances: 1,
		Health: Health{
			Path:               "/",
			Interval:           time.Second,
			Timeout:            2 * time.Second,
			StartTimeout:       60 * time.Second,
			HealthyThreshold:   1,
			UnhealthyThreshold: 2,
		},
		Deploy: Deploy{
			Strategy:     StrategyRolling,
			MaxSurge:     1,
			DrainTimeout: 30 * time.Second,
			StopTimeout:  10 * time.Second,
			Analysis:     Analysis{Interval: 5 * time.Second, MinRequests: 50, MaxErrorRate: 0.05},
		},
		Kubernetes: Kubernetes{Service: Service{Type: ServiceClusterIP}, MinReady: 5 * time.Second, PreStop: 5 * time.Second},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults\n got %+v\nwant %+v", got, want)
	}
}

func TestApplyDefaults_DockerfileMakesRuntimeDocker(t *testing.T) {
	if got := defaulted(t, "", true).Runtime; got != RuntimeDocker {
		t.Errorf("runtime = %q, want docker", got)
	}
	if got := defaulted(t, "runtime: process\n", true).Runtime; got != RuntimeProcess {
		t.Errorf("explicit runtime = %q, want process to win over the Dockerfile", got)
	}
}

func TestApplyDefaults_ExplicitZeroStaysZero(t *testing.T) {
	s := defaulted(t, "deploy:\n  max_surge: 0\n  max_unavailable: 1\n  drain_timeout: 0s\n  stop_timeout: 0s\n", false)
	d := s.Deploy
	if d.MaxSurge != 0 || d.MaxUnavailable != 1 || d.DrainTimeout != 0 || d.StopTimeout != 0 {
		t.Errorf("deploy = %+v, want the explicit zeros kept", d)
	}
	s = defaulted(t, "instances: 0\n", false)
	if s.Instances != 0 {
		t.Errorf("instances = %d, want the explicit 0 kept for Validate to report", s.Instances)
	}
}

func TestApplyDefaults_CanaryAnalysisOnlyWithCanarySection(t *testing.T) {
	if s := defaulted(t, "", false); s.Deploy.Canary != nil {
		t.Errorf("canary = %+v, want none without a canary section", s.Deploy.Canary)
	}
	s := defaulted(t, "deploy:\n  canary:\n    analysis:\n      max_error_rate: 0\n", false)
	want := Analysis{Interval: 5 * time.Second, MinRequests: 50, MaxErrorRate: 0, OnInconclusive: InconclusiveWait}
	if got := s.Deploy.Canary.Analysis; got != want {
		t.Errorf("analysis = %+v, want %+v (explicit 0 error rate kept)", got, want)
	}
	s = defaulted(t, "deploy:\n  canary:\n", false)
	if got := s.Deploy.Canary.Analysis.MaxErrorRate; got != 0.05 {
		t.Errorf("max_error_rate = %v, want 0.05 for an empty canary section", got)
	}
}

func TestApplyDefaults_BlueGreenKeepsOldForTenMinutes(t *testing.T) {
	s := defaulted(t, "deploy:\n  strategy: bluegreen\n", false)
	if bg := s.Deploy.BlueGreen; bg == nil || bg.KeepOldFor != 10*time.Minute || bg.AutoPromoteAfter != 0 {
		t.Errorf("bluegreen = %+v, want keep_old_for 10m, auto_promote_after 0", bg)
	}
}

func TestApplyDefaults_ExplicitValuesWin(t *testing.T) {
	s := defaulted(t, "instances: 3\nhealth:\n  path: /up\n  interval: 250ms\ndeploy:\n  max_surge: 2\n", false)
	if s.Instances != 3 || s.Health.Path != "/up" || s.Health.Interval != 250*time.Millisecond || s.Deploy.MaxSurge != 2 {
		t.Errorf("spec = %+v, want the file's values", s)
	}
}

func TestApplyDefaults_SpecBuiltInCodeTreatsZeroAsUnset(t *testing.T) {
	s := &Spec{Run: "./app", Deploy: Deploy{MaxUnavailable: 1}}
	s.ApplyDefaults(false)
	if s.Instances != 1 || s.Health.Timeout != 2*time.Second || s.Deploy.StopTimeout != 10*time.Second {
		t.Errorf("spec = %+v, want defaults for its zeros", s)
	}
	if s.Deploy.MaxSurge != 0 {
		t.Errorf("max_surge = %d, want 0 kept since max_unavailable is 1", s.Deploy.MaxSurge)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestApplyDefaults_IsIdempotent(t *testing.T) {
	once := defaulted(t, designExample, false)
	twice := defaulted(t, designExample, false)
	twice.ApplyDefaults(true)
	if !reflect.DeepEqual(once, twice) {
		t.Errorf("a second ApplyDefaults changed the spec:\n%+v\n%+v", once, twice)
	}
}

func TestWithStrategy_GivesACanaryOrBlueGreenWithoutSettingsSaneOnes(t *testing.T) {
	s := defaulted(t, "run: ./app\n", false)
	c, err := s.WithStrategy(StrategyCanary)
	if err != nil || c.Deploy.Strategy != StrategyCanary || len(c.Deploy.Canary.Steps) != 2 || c.Deploy.Canary.Steps[0].Weight != 10 {
		t.Fatalf("canary: %+v %v", c.Deploy, err)
	}
	if s.Deploy.Strategy != StrategyRolling || s.Deploy.Canary != nil {
		t.Fatal("WithStrategy changed the spec it was called on")
	}
	b, err := s.WithStrategy(StrategyBlueGreen)
	if err != nil || b.Deploy.BlueGreen == nil || b.Deploy.BlueGreen.AutoPromoteAfter != 0 {
		t.Fatalf("blue-green: %+v %v", b.Deploy, err)
	}
	if _, err := s.WithStrategy("yolo"); err == nil {
		t.Fatal("an unknown strategy was accepted")
	}
}
