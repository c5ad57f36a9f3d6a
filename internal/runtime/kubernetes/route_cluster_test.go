package kubernetes

import (
	"maps"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestApplyRoute_RouteWeightsReadsBackTheWeightsItWrote(t *testing.T) {
	t.Parallel()
	e := newClusterEnv(t)
	s := kubeSpec(t, "", "gateway: {name: edge, namespace: infra, hostnames: [shop.example, www.shop.example]}")
	if err := e.c.Prepare(e.ctx, workload("route", 1, 0, 1, s)); err != nil {
		t.Fatal(err)
	}
	if w, err := e.c.RouteWeights(e.ctx, "route", &s); err != nil || w != nil {
		t.Errorf("RouteWeights without a route = %v, %v; want nil, nil", w, err)
	}

	steps := []struct {
		backends []Backend
		want     map[string]int
	}{
		{[]Backend{{"route", 90}, {"route-v2", 10}}, map[string]int{"route": 90, "route-v2": 10}},
		{[]Backend{{"route", 0}, {"route-v2", 100}}, map[string]int{"route": 0, "route-v2": 100}},
		// The canary's backend leaves the route when it is over.
		{[]Backend{{"route", 100}}, map[string]int{"route": 100}},
	}
	for _, step := range steps {
		if err := e.c.ApplyRoute(e.ctx, "route", &s, step.backends); err != nil {
			t.Fatal(err)
		}
		got, err := e.c.RouteWeights(e.ctx, "route", &s)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(got, step.want) {
			t.Errorf("after ApplyRoute(%v): RouteWeights = %v, want %v", step.backends, got, step.want)
		}
	}

	u, err := e.dyn.Resource(httpRoutes).Namespace("route").Get(e.ctx, "route", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec := u.Object["spec"].(map[string]any)
	parent := spec["parentRefs"].([]any)[0].(map[string]any)
	if parent["name"] != "edge" || parent["namespace"] != "infra" {
		t.Errorf("parentRefs[0] = %v, want the Gateway infra/edge", parent)
	}
	if got := spec["hostnames"]; !reflect.DeepEqual(got, []any{"shop.example", "www.shop.example"}) {
		t.Errorf("hostnames %v", got)
	}
	ref := spec["rules"].([]any)[0].(map[string]any)["backendRefs"].([]any)[0].(map[string]any)
	if ref["port"] != int64(80) {
		t.Errorf("backend %v, want the Services' port 80", ref)
	}
	if l := u.GetLabels(); l[LabelInstance] != "route" || l[LabelManagedBy] != "nonstop" {
		t.Errorf("HTTPRoute labels %v", l)
	}
}

func TestApplyRoute_WithoutAGatewayIsAClearError(t *testing.T) {
	t.Parallel()
	e := newClusterEnv(t)
	s := kubeSpec(t, "", "")
	if err := e.c.Prepare(e.ctx, workload("nogw", 1, 0, 1, s)); err != nil {
		t.Fatal(err)
	}
	err := e.c.ApplyRoute(e.ctx, "nogw", &s, []Backend{{"nogw", 100}})
	if err == nil || !strings.Contains(err.Error(), "nogw") || !strings.Contains(err.Error(), "kubernetes.gateway") {
		t.Errorf("ApplyRoute for an app without a gateway: %v, want an error naming the app and kubernetes.gateway", err)
	}
	_, err = e.dyn.Resource(httpRoutes).Namespace("nogw").Get(e.ctx, "nogw", metav1.GetOptions{})
	if msg := gone(err); msg != "" {
		t.Errorf("HTTPRoute: %s, want none", msg)
	}
}
