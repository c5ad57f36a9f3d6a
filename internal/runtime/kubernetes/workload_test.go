package kubernetes

import (
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/spec"
)

func testSpec(t *testing.T, yaml string) spec.Spec {
	t.Helper()
	s, err := spec.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	s.ApplyDefaults(true)
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return *s
}

func TestWorkload_DeploymentCarriesTheZeroDowntimeSettingsOfTheSpec(t *testing.T) {
	s := testSpec(t, `runtime: kubernetes
port: 9000
instances: 4
health: {path: /ready, interval: 2s, timeout: 1s, start_timeout: 45s, unhealthy_threshold: 3}
deploy: {max_surge: 2, drain_timeout: 20s}
kubernetes: {pre_stop: 7s, min_ready: 4s}
env: {B: "2", A: "1"}
`)
	d := Workload{App: "api", Release: 6, Image: "r/api@sha256:1", Env: s.Env, Replicas: 4, Spec: s}.Deployment()
	ds := d.Spec
	pod := ds.Template.Spec
	c := pod.Containers[0]
	if *d.Name != "api" || *d.Namespace != "api" || *ds.Replicas != 4 {
		t.Errorf("deployment %s/%s with %d replicas", *d.Namespace, *d.Name, *ds.Replicas)
	}
	if got := ds.Strategy.RollingUpdate; got.MaxSurge.IntValue() != 2 || got.MaxUnavailable.IntValue() != 0 {
		t.Errorf("maxSurge %v maxUnavailable %v, want 2 and 0", got.MaxSurge, got.MaxUnavailable)
	}
	if *ds.MinReadySeconds != 4 || *ds.ProgressDeadlineSeconds != 45+4 {
		t.Errorf("minReadySeconds %d progressDeadlineSeconds %d, want 4 and 49 (start_timeout + min_ready)", *ds.MinReadySeconds, *ds.ProgressDeadlineSeconds)
	}
	p := c.ReadinessProbe
	if *p.HTTPGet.Path != "/ready" || *p.PeriodSeconds != 2 || *p.TimeoutSeconds != 1 || *p.FailureThreshold != 3 {
		t.Errorf("readiness probe %+v", p)
	}
	if *c.Lifecycle.PreStop.Sleep.Seconds != 7 || *pod.TerminationGracePeriodSeconds != 7+20 {
		t.Errorf("preStop %d s, grace %d s; want 7 and 27 (preStop + drain_timeout)", *c.Lifecycle.PreStop.Sleep.Seconds, *pod.TerminationGracePeriodSeconds)
	}
	if *c.Ports[0].ContainerPort != 9000 || *c.Env[0].Name != "PORT" || *c.Env[0].Value != "9000" || *c.Env[1].Name != "A" || *c.Env[2].Name != "B" {
		t.Errorf("port %d, env %v %v %v: want 9000, PORT first, then sorted", *c.Ports[0].ContainerPort, *c.Env[0].Name, *c.Env[1].Name, *c.Env[2].Name)
	}
	if ds.Template.Labels[LabelVersion] != "v6" || ds.Template.Labels[LabelSet] != "stable" || ds.Template.Annotations[AnnotationRelease] != "6" {
		t.Errorf("pod labels %v annotations %v", ds.Template.Labels, ds.Template.Annotations)
	}
}

func TestWorkload_AReleaseSetHasItsOwnNameAndSelector(t *testing.T) {
	s := testSpec(t, "runtime: kubernetes\nkubernetes: {namespace: shop}\n")
	w := Workload{App: "web", Release: 3, Set: 3, Image: "x", Replicas: 1, Spec: s}
	d := w.Deployment()
	if *d.Name != "web-v3" || *d.Namespace != "shop" || d.Spec.Selector.MatchLabels[LabelSet] != "v3" {
		t.Errorf("release set: %s/%s selecting %v", *d.Namespace, *d.Name, d.Spec.Selector.MatchLabels)
	}
	if d.Spec.Template.Spec.Containers[0].Lifecycle.PreStop.Sleep == nil || *d.Spec.MinReadySeconds != int32((5*time.Second).Seconds()) {
		t.Errorf("defaults: a preStop sleep and minReadySeconds 5")
	}
}
