package kubernetes

// The tests in the *_cluster_test.go files run the package against a real
// control plane: one cluster from internal/k8stest for the whole package,
// started by TestMain below.
// Each test has its own app names and so its own namespaces, and runs in
// parallel with the others. Without the cluster's binaries the package
// fails (never skips), saying how to build them.

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/nonstopdev/nonstop/internal/k8stest"
	"github.com/nonstopdev/nonstop/internal/spec"
)

// testCluster is the control plane every cluster test of the package uses.
var testCluster *k8stest.Cluster

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	c, err := k8stest.Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubernetes tests need a control plane: %v\n", err)
		os.Exit(1)
	}
	testCluster = c
	code := m.Run()
	if err := c.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// clusterEnv is the package under test connected to the test cluster (c),
// and clients of its own (cs, dyn) to check what the package did.
type clusterEnv struct {
	t   *testing.T
	ctx context.Context
	c   *Cluster
	cs  k8s.Interface
	dyn dynamic.Interface
}

// newClusterEnv connects to the test cluster; ctx ends with the test, or
// after a minute. Each test has a connection (and rate limiter) of its own.
func newClusterEnv(t *testing.T) *clusterEnv {
	t.Helper()
	c, err := Connect(Options{Kubeconfig: testCluster.Kubeconfig})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", testCluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return &clusterEnv{t: t, ctx: ctx, c: c, cs: k8s.NewForConfigOrDie(cfg), dyn: dynamic.NewForConfigOrDie(cfg)}
}

// baseSpec is the top of the nonstop.yaml of the tests' apps: quick
// health settings, port 9000. A test adds its kubernetes section, e.g.
// "kubernetes: {min_ready: 0s}" (see kubeSpec).
const baseSpec = `runtime: kubernetes
port: 9000
health: {path: /healthz, interval: 1s, timeout: 1s, start_timeout: 20s}
deploy: {max_surge: 1, drain_timeout: 1s}
`

// kubeSpec is baseSpec with extra top-level YAML and the given fields of the
// kubernetes section (flow style, without braces), after min_ready: 0s and
// pre_stop: 0s, so that a pod counts as available as soon as kwok makes it
// Ready.
func kubeSpec(t *testing.T, extra, kubeFields string) spec.Spec {
	t.Helper()
	k := "min_ready: 0s, pre_stop: 0s"
	if kubeFields != "" {
		k += ", " + kubeFields
	}
	return testSpec(t, baseSpec+extra+"kubernetes: {"+k+"}\n")
}

// image is a pinned image reference no one pulls (kwok runs no
// containers); n tells releases apart.
func image(app string, n int) string {
	return fmt.Sprintf("registry.test/%s@sha256:%064x", app, n)
}

// workload is release of app in set (0: stable) with replicas pods.
func workload(app string, release, set, replicas int, s spec.Spec) Workload {
	return Workload{App: app, Release: release, Set: set, Image: image(app, release), Replicas: replicas, Spec: s}
}

// deploy does what a rollout does for w before watching it: Prepare, the
// Deployment and the Service of its set.
func (e *clusterEnv) deploy(w Workload) {
	e.t.Helper()
	if err := e.c.Prepare(e.ctx, w); err != nil {
		e.t.Fatalf("Prepare %s: %v", w.Name(), err)
	}
	if _, err := e.c.ApplyDeployment(e.ctx, w); err != nil {
		e.t.Fatalf("ApplyDeployment %s: %v", w.Name(), err)
	}
	if _, err := e.c.EnsureService(e.ctx, w); err != nil {
		e.t.Fatalf("EnsureService %s: %v", w.Name(), err)
	}
}

// eventually polls cond every 100 ms until it returns "" or timeout passes,
// then fails the test with cond's last word.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %s", what, timeout, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// gone is "" once get reports NotFound, else what it returned.
func gone(err error) string {
	if apierrors.IsNotFound(err) {
		return ""
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return "still there"
}

// deploymentGone says whether Deployment ns/name is gone (see gone).
func (e *clusterEnv) deploymentGone(ns, name string) string {
	_, err := e.cs.AppsV1().Deployments(ns).Get(e.ctx, name, metav1.GetOptions{})
	return gone(err)
}

// serviceGone says whether Service ns/name is gone (see gone).
func (e *clusterEnv) serviceGone(ns, name string) string {
	_, err := e.cs.CoreV1().Services(ns).Get(e.ctx, name, metav1.GetOptions{})
	return gone(err)
}
