package kubernetes

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/nonstopdev/nonstop/internal/spec"
)

// Pod is one of an app's pods as `nonstop status` shows it.
type Pod struct {
	Name      string
	Release   int
	Set       string // "stable" or "vN"
	Node      string
	Addr      string // pod IP:port ("" before it has one)
	Ready     bool
	Stopping  bool
	Restarts  int
	Problem   string // why it is not ready ("" when it is)
	StartedAt time.Time
}

// Pods lists an app's pods, oldest first.
func (c *Cluster) Pods(ctx context.Context, app string, s *spec.Spec) ([]Pod, error) {
	ns := Namespace(app, s)
	list, err := c.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelInstance + "=" + app + "," + LabelSet})
	if err != nil {
		return nil, fmt.Errorf("list pods of %s in %s: %w", app, ns, err)
	}
	port := DefaultPort
	if s != nil && s.Port > 0 {
		port = s.Port
	}
	out := make([]Pod, 0, len(list.Items))
	for i := range list.Items {
		p := &list.Items[i]
		pod := Pod{Name: p.Name, Set: p.Labels[LabelSet], Node: p.Spec.NodeName, Stopping: p.DeletionTimestamp != nil,
			StartedAt: p.CreationTimestamp.Time, Problem: podProblem(p)}
		pod.Release, _ = strconv.Atoi(strings.TrimPrefix(p.Labels[LabelVersion], "v"))
		pod.Ready = pod.Problem == "" && p.Status.Phase == corev1.PodRunning
		if p.Status.PodIP != "" {
			pod.Addr = net.JoinHostPort(p.Status.PodIP, strconv.Itoa(port))
		}
		for _, cs := range p.Status.ContainerStatuses {
			pod.Restarts += int(cs.RestartCount)
		}
		out = append(out, pod)
	}
	slices.SortFunc(out, func(a, b Pod) int { return a.StartedAt.Compare(b.StartedAt) })
	return out, nil
}

// PodLogs streams a pod's output (its app container), starting tail lines
// from the end (tail <= 0: all), and with follow until ctx ends.
func (c *Cluster) PodLogs(ctx context.Context, app string, s *spec.Spec, pod string, tail int, follow bool) (io.ReadCloser, error) {
	opts := &corev1.PodLogOptions{Container: "app", Follow: follow}
	if tail > 0 {
		opts.TailLines = ptr.To(int64(tail))
	}
	rc, err := c.cs.CoreV1().Pods(Namespace(app, s)).GetLogs(pod, opts).Stream(ctx)
	if err != nil {
		return nil, fmt.Errorf("logs of pod %s: %w", pod, err)
	}
	return rc, nil
}

// URLs are where an app's clients reach it without nonstop's proxy: its
// Service inside the cluster, its node port or load balancer, and the
// host names of its Gateway route.
func (c *Cluster) URLs(ctx context.Context, app string, s *spec.Spec) ([]string, error) {
	ns, name := Namespace(app, s), StableName(app)
	svc, err := c.cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil // not deployed yet
	}
	if err != nil {
		return nil, fmt.Errorf("get service %s/%s: %w", ns, name, err)
	}
	urls := []string{fmt.Sprintf("http://%s.%s.svc/ (in the cluster)", name, ns)}
	for _, p := range svc.Spec.Ports {
		if p.NodePort > 0 {
			urls = append(urls, fmt.Sprintf("http://NODE:%d/ (any node)", p.NodePort))
		}
	}
	for _, in := range svc.Status.LoadBalancer.Ingress {
		host := cmp.Or(in.Hostname, in.IP)
		urls = append(urls, "http://"+host+"/")
	}
	if g := s.Kubernetes.Gateway; g != nil {
		for _, h := range g.Hostnames {
			urls = append(urls, "http://"+h+"/ (gateway "+g.Name+")")
		}
	}
	return urls, nil
}
