package kubernetes

import (
	"fmt"
	"net"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestWatchEndpoints_OfListsTheReadyPodsOfAnAppWithTheirAddressAndRelease(t *testing.T) {
	t.Parallel()
	e := newClusterEnv(t)
	var mu sync.Mutex
	changed := map[string]int{}
	eps, err := e.c.WatchEndpoints(e.ctx, func(app string) {
		mu.Lock()
		changed[app]++
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := eps.Of("eps", "eps"); len(got) != 0 {
		t.Errorf("Of before the deploy = %v, want none", got)
	}

	s := kubeSpec(t, "", "")
	e.deploy(workload("eps", 4, 0, 2, s))
	// A not-ready release set of the same app: its pod is no endpoint.
	notReady := kubeSpec(t, "", `labels: {kwok.test/not-ready: "true"}`)
	e.deploy(workload("eps", 5, 5, 1, notReady))

	var want []Endpoint
	eventually(t, 30*time.Second, "2 endpoints of release 4", func() string {
		pods, err := e.cs.CoreV1().Pods("eps").List(e.ctx, metav1.ListOptions{LabelSelector: LabelInstance + "=eps," + LabelSet + "=stable"})
		if err != nil {
			return err.Error()
		}
		want = want[:0]
		for _, p := range pods.Items {
			if p.Status.PodIP == "" {
				return "pod " + p.Name + " has no IP yet"
			}
			want = append(want, Endpoint{Pod: p.Name, Addr: net.JoinHostPort(p.Status.PodIP, "9000"), Release: 4})
		}
		slices.SortFunc(want, func(a, b Endpoint) int { return strings.Compare(a.Pod, b.Pod) })
		got := eps.Of("eps", "eps")
		if len(want) != 2 || !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("Of = %v, want %v", got, want)
		}
		return ""
	})
	mu.Lock()
	n := changed["eps"]
	mu.Unlock()
	if n == 0 {
		t.Errorf("onChange was not called with the app's name (calls: %v)", changed)
	}
	if got := eps.Of("other-ns", "eps"); len(got) != 0 {
		t.Errorf("Of in another namespace = %v, want none", got)
	}

	// The set's pod exists but is never Ready: still only the 2.
	eventually(t, 20*time.Second, "the set's pod running, not ready", func() string {
		problems, err := e.c.PodProblems(e.ctx, "eps", &notReady, 5, 5)
		if err != nil {
			return err.Error()
		}
		if len(problems) != 1 || !strings.Contains(problems[0], "readiness") {
			return fmt.Sprintf("problems %q", problems)
		}
		return ""
	})
	if got := eps.Of("eps", "eps"); !reflect.DeepEqual(got, want) {
		t.Errorf("Of with a never-ready set beside = %v, want only %v", got, want)
	}

	// A ready set of release 6: its pod is listed when the set is asked
	// for, not otherwise; once the stable Service selects it, two Services
	// list it, and it is still listed once, while the stable pods, in no
	// Service now, leave.
	e.deploy(workload("eps", 6, 6, 1, s))
	var v6 []Endpoint
	eventually(t, 30*time.Second, "the endpoint of set v6", func() string {
		v6 = v6[:0]
		for _, ep := range eps.Of("eps", "eps", 6) {
			if ep.Release == 6 {
				v6 = append(v6, ep)
			}
		}
		if len(v6) != 1 || len(eps.Of("eps", "eps", 6)) != 3 {
			return fmt.Sprintf("Of = %v, want release 4's 2 and one of release 6", eps.Of("eps", "eps", 6))
		}
		return ""
	})
	if got := eps.Of("eps", "eps"); !reflect.DeepEqual(got, want) {
		t.Errorf("Of without the set = %v, want only the stable Service's %v", got, want)
	}
	if err := e.c.SelectSet(e.ctx, "eps", &s, 6); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "only the v6 pod, once", func() string {
		if got := eps.Of("eps", "eps", 6); !reflect.DeepEqual(got, v6) {
			return fmt.Sprintf("Of = %v, want %v", got, v6)
		}
		return ""
	})
}
