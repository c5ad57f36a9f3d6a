package kubernetes

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/nonstopdev/nonstop/internal/spec"
)

// httpRoutes is the Gateway API's HTTPRoute resource.
var httpRoutes = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}

// Backend is one Service behind an app's HTTPRoute and its share of the
// requests (weights are relative; 0 sends it nothing).
type Backend struct {
	Service string
	Weight  int
}

// ApplyRoute writes the app's HTTPRoute, attached to the Gateway its spec
// names, with one rule whose weighted backends split the traffic: the
// Gateway's implementation moves requests by the weights, atomically.
func (c *Cluster) ApplyRoute(ctx context.Context, app string, s *spec.Spec, backends []Backend) error {
	return withRetry(ctx, func() error {
		g := s.Kubernetes.Gateway
		if g == nil {
			return fmt.Errorf("app %s names no gateway (kubernetes.gateway)", app)
		}
		ns := Namespace(app, s)
		got, err := c.dyn.Resource(httpRoutes).Namespace(ns).Get(ctx, StableName(app), metav1.GetOptions{})
		if err := owned("httproute", ns, StableName(app), app, got, err); err != nil {
			return err
		}
		parent := map[string]any{"name": g.Name}
		if g.Namespace != "" {
			parent["namespace"] = g.Namespace
		}
		refs := make([]any, 0, len(backends))
		for _, b := range backends {
			refs = append(refs, map[string]any{"name": b.Service, "port": int64(80), "weight": int64(b.Weight)})
		}
		routeSpec := map[string]any{
			"parentRefs": []any{parent},
			"rules":      []any{map[string]any{"backendRefs": refs}},
		}
		if len(g.Hostnames) > 0 {
			hosts := make([]any, len(g.Hostnames))
			for i, h := range g.Hostnames {
				hosts[i] = h
			}
			routeSpec["hostnames"] = hosts
		}
		labels := map[string]any{}
		for k, v := range appLabels(app) {
			labels[k] = v
		}
		route := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "gateway.networking.k8s.io/v1",
			"kind":       "HTTPRoute",
			"metadata":   map[string]any{"name": StableName(app), "namespace": ns, "labels": labels},
			"spec":       routeSpec,
		}}
		if _, err := c.dyn.Resource(httpRoutes).Namespace(ns).Apply(ctx, StableName(app), route, applyOpts); err != nil {
			return fmt.Errorf("apply httproute %s/%s: %w", ns, app, err)
		}
		return nil
	})
}

// RouteWeights reads the weights of the app's HTTPRoute by Service name
// (nil when there is no route).
func (c *Cluster) RouteWeights(ctx context.Context, app string, s *spec.Spec) (map[string]int, error) {
	ns := Namespace(app, s)
	u, err := c.dyn.Resource(httpRoutes).Namespace(ns).Get(ctx, StableName(app), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get httproute %s/%s: %w", ns, app, err)
	}
	rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
	out := map[string]int{}
	for _, rule := range rules {
		refs, _, _ := unstructured.NestedSlice(rule.(map[string]any), "backendRefs")
		for _, ref := range refs {
			m := ref.(map[string]any)
			name, _ := m["name"].(string)
			w, found, _ := unstructured.NestedInt64(m, "weight")
			if !found {
				w = 1 // the Gateway API's default weight
			}
			out[name] += int(w)
		}
	}
	return out, nil
}
