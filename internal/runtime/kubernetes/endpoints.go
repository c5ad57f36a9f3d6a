package kubernetes

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// Endpoint is one ready pod of an app, where nonstop's proxy reaches it
// when it runs on the cluster's pod network.
type Endpoint struct {
	Pod     string // the pod's name
	Addr    string // pod IP:port
	Release int    // the release the pod runs
	// Own: the pod is of its release's own set (APP-vN), not the stable
	// Deployment's.
	Own bool
}

// Endpoints follows the EndpointSlices of the Services nonstop made (and
// their pods, for the release each runs) with informers, and calls
// onChange with the app whose endpoints moved.
type Endpoints struct {
	factory informers.SharedInformerFactory
	slices  cache.SharedIndexInformer
	pods    cache.SharedIndexInformer
}

// WatchEndpoints starts following the endpoints of every app nonstop
// manages, until ctx ends. It returns once the first listing is in, or
// with an error after 30 s without it (no access to EndpointSlices or
// Pods: see docs/kubernetes.md for the RBAC rules).
func (c *Cluster) WatchEndpoints(ctx context.Context, onChange func(app string)) (*Endpoints, error) {
	f := informers.NewSharedInformerFactoryWithOptions(c.cs, 10*time.Minute,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = LabelManagedBy + "=nonstop" }))
	e := &Endpoints{factory: f, slices: f.Discovery().V1().EndpointSlices().Informer(), pods: f.Core().V1().Pods().Informer()}
	kick := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if m, ok := obj.(metav1.Object); ok && m.GetLabels()[LabelInstance] != "" {
			onChange(m.GetLabels()[LabelInstance])
		}
	}
	handler := cache.ResourceEventHandlerFuncs{AddFunc: kick, UpdateFunc: func(_, obj any) { kick(obj) }, DeleteFunc: kick}
	for _, inf := range []cache.SharedIndexInformer{e.slices, e.pods} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			return nil, fmt.Errorf("watch endpoints: %w", err)
		}
	}
	f.Start(ctx.Done())
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for typ, ok := range f.WaitForCacheSync(wait.Done()) {
		if !ok {
			return nil, fmt.Errorf("watch endpoints: %v not listed in 30s (can nonstop list and watch endpointslices and pods?)", typ)
		}
	}
	return e, nil
}

// Of returns the ready endpoints of app in ns behind its stable Service
// and the Services of the release sets named, sorted by pod name: each
// pod once, whichever of those Services lists it.
func (e *Endpoints) Of(ns, app string, sets ...int) []Endpoint {
	sel := labels.SelectorFromSet(map[string]string{LabelInstance: app})
	services := map[string]bool{StableName(app): true}
	for _, set := range sets {
		services[SetName(app, set)] = true
	}
	byPod := map[string]Endpoint{}
	for _, obj := range e.slices.GetIndexer().List() {
		s := obj.(*discoveryv1.EndpointSlice)
		if s.Namespace != ns || !sel.Matches(labels.Set(s.Labels)) || !services[s.Labels[discoveryv1.LabelServiceName]] {
			continue
		}
		port := int32(0)
		for _, p := range s.Ports {
			if p.Port != nil && (p.Name == nil || *p.Name == "http") {
				port = *p.Port
			}
		}
		if port == 0 {
			continue
		}
		for _, ep := range s.Endpoints {
			if !isReady(ep) || len(ep.Addresses) == 0 || ep.TargetRef == nil || ep.TargetRef.Kind != "Pod" {
				continue
			}
			release, own := e.release(ns, ep.TargetRef.Name)
			if release == 0 {
				continue // its pod is not in the cache yet: the next change brings it
			}
			byPod[ep.TargetRef.Name] = Endpoint{Pod: ep.TargetRef.Name, Addr: net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(port))), Release: release, Own: own}
		}
	}
	out := make([]Endpoint, 0, len(byPod))
	for _, ep := range byPod {
		out = append(out, ep)
	}
	slices.SortFunc(out, func(a, b Endpoint) int { return strings.Compare(a.Pod, b.Pod) })
	return out
}

// isReady: ready, serving and not terminating (a nil condition is true,
// except terminating).
func isReady(ep discoveryv1.Endpoint) bool {
	c := ep.Conditions
	return (c.Ready == nil || *c.Ready) && (c.Terminating == nil || !*c.Terminating)
}

// release is the release a pod runs, from its version label (0: unknown),
// and whether the pod is of that release's own set.
func (e *Endpoints) release(ns, pod string) (release int, own bool) {
	obj, ok, err := e.pods.GetIndexer().GetByKey(ns + "/" + pod)
	if err != nil || !ok {
		return 0, false
	}
	labels := obj.(*corev1.Pod).Labels
	v, _ := strconv.Atoi(strings.TrimPrefix(labels[LabelVersion], "v"))
	return v, v > 0 && labels[LabelSet] == SetLabel(v)
}
