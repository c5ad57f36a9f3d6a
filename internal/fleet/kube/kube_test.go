package kube

import (
	"errors"
	"strings"
	"testing"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/runtime/kubernetes"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

func kubeSpec(strategy spec.Strategy, namespace string, gateway bool) *spec.Spec {
	sp := &spec.Spec{Runtime: spec.RuntimeKubernetes}
	sp.Deploy.Strategy = strategy
	sp.Kubernetes.Namespace = namespace
	if gateway {
		sp.Kubernetes.Gateway = &spec.Gateway{Name: "gw"}
	}
	return sp
}

func TestFleet_CheckRefusesWhatItCannotRollOutBeforeAnythingIsRecorded(t *testing.T) {
	app := &store.App{Name: "shop"}
	cluster := &kubernetes.Cluster{} // never dialled: Check reads only specs
	for _, c := range []struct {
		name       string
		f          *Fleet
		app        *store.App
		live, sp   *spec.Spec
		want       error
		wantSaying string
	}{
		{"no cluster", New(Config{}), app, nil, kubeSpec(spec.StrategyRolling, "", false), fleet.ErrUnsupported, "--kubeconfig"},
		{"a canary nobody can split", New(Config{Cluster: cluster}), app, nil, kubeSpec(spec.StrategyCanary, "", false), fleet.ErrInvalid, "kubernetes.gateway"},
		{"a name too long for its objects", New(Config{Cluster: cluster}), &store.App{Name: strings.Repeat("a", maxName+1)}, nil, kubeSpec(spec.StrategyRolling, "", false), fleet.ErrInvalid, "at most 40"},
		{"a move to another namespace", New(Config{Cluster: cluster}), app, kubeSpec(spec.StrategyRolling, "a", false), kubeSpec(spec.StrategyRolling, "b", false), fleet.ErrInvalid, "namespace a → b"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.f.Check(c.app, c.live, c.sp)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.wantSaying) {
				t.Errorf("Check = %v, want %v saying %q", err, c.want, c.wantSaying)
			}
		})
	}
	for _, c := range []struct {
		name     string
		f        *Fleet
		live, sp *spec.Spec
	}{
		{"a rolling deploy", New(Config{Cluster: cluster}), nil, kubeSpec(spec.StrategyRolling, "", false)},
		{"a canary split by a Gateway", New(Config{Cluster: cluster}), nil, kubeSpec(spec.StrategyCanary, "", true)},
		{"a canary split by the proxy on the pod network", New(Config{Cluster: cluster, PodNetwork: true}), nil, kubeSpec(spec.StrategyCanary, "", false)},
		{"the same namespace again", New(Config{Cluster: cluster}), kubeSpec(spec.StrategyRolling, "a", false), kubeSpec(spec.StrategyBlueGreen, "a", false)},
	} {
		if err := c.f.Check(app, c.live, c.sp); err != nil {
			t.Errorf("%s: Check = %v, want nil", c.name, err)
		}
	}
}

func TestFleet_TheProxyMeasuresOnlyWhatItCarries(t *testing.T) {
	for _, c := range []struct {
		name             string
		podNetwork, gw   bool
		live, splitShare bool
	}{
		{"off the pod network: the cluster's Services carry everything", false, false, false, false},
		{"on the pod network, no Gateway: all of it", true, false, true, true},
		{"on the pod network with a Gateway: the live traffic, not the Gateway's split", true, true, true, false},
	} {
		f := New(Config{PodNetwork: c.podNetwork})
		sp := kubeSpec(spec.StrategyCanary, "", c.gw)
		if got := f.Measures(sp, false); got != c.live {
			t.Errorf("%s: Measures(live) = %v, want %v", c.name, got, c.live)
		}
		if got := f.Measures(sp, true); got != c.splitShare {
			t.Errorf("%s: Measures(split) = %v, want %v", c.name, got, c.splitShare)
		}
	}
}
