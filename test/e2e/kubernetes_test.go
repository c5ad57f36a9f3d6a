package e2e

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/proxy/daemon"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/nonstopdev/nonstop/internal/k8stest"
	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/server"
)

// One control plane serves every Kubernetes test of the package; each
// test has apps (and so namespaces) of its own.
var (
	kubeOnce sync.Once
	kube     *k8stest.Cluster
	kubeErr  error
)

// stopKube stops the shared control plane (from TestMain).
func stopKube() {
	if kube != nil {
		kube.Stop()
	}
}

// kubeEnv is a nonstop server driving the test control plane, and clients
// of that control plane to check what nonstop made.
type kubeEnv struct {
	*cluster
	cs  k8s.Interface
	dyn dynamic.Interface
}

func newKubeEnv(t *testing.T, serverArgs ...string) *kubeEnv {
	t.Helper()
	return newKubeEnvWith(t, serverArgs, nil)
}

// newKubeEnvWith is newKubeEnv with the server's environment too.
func newKubeEnvWith(t *testing.T, serverArgs, serverEnv []string) *kubeEnv {
	t.Helper()
	kubeOnce.Do(func() { kube, kubeErr = k8stest.Start(context.Background()) })
	if kubeErr != nil {
		t.Fatalf("Kubernetes control plane: %v", kubeErr)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kube.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	env := &kubeEnv{cluster: newClusterWith(t, append([]string{"--kubeconfig", kube.Kubeconfig}, serverArgs...), serverEnv)}
	env.cs = k8s.NewForConfigOrDie(cfg)
	env.dyn = dynamic.NewForConfigOrDie(cfg)
	return env
}

// kubeSpec is a nonstop.yaml for the kubernetes runtime; extra is YAML
// at the top level. It ends with the kubernetes section, so that lines
// appended to it belong there.
func kubeSpec(name, startTimeout, extra string) string {
	return fmt.Sprintf(`name: %s
runtime: kubernetes
port: 8080
instances: 3
health:
  path: /healthz
  interval: 1s
  timeout: 1s
  start_timeout: %s
deploy:
  strategy: rolling
  max_surge: 1
  drain_timeout: 10s
`, name, startTimeout) + extra + `kubernetes:
  min_ready: 0s
  pre_stop: 3s
`
}

// image is a pinned image reference that no one pulls (kwok runs no
// containers); n tells releases apart.
func imageRef(app string, n int) string {
	return fmt.Sprintf("registry.test/%s@sha256:%064x", app, n)
}

// deployImage deploys a pinned image with the given nonstop.yaml and
// returns the CLI's output and exit code.
func (e *kubeEnv) deployImage(app, yaml string, n int, more ...string) (string, int) {
	e.t.Helper()
	dir := e.t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "nonstop.yaml"), []byte(yaml), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return e.run(append([]string{"deploy", dir, "--app", app, "--image", imageRef(app, n)}, more...)...)
}

func (e *kubeEnv) deployment(ns, name string) *appsv1.Deployment {
	e.t.Helper()
	d, err := e.cs.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("deployment %s/%s: %v", ns, name, err)
	}
	return d
}

// runs is the image the pods of Deployment ns/name run.
func (e *kubeEnv) runs(ns, name string) string {
	e.t.Helper()
	return e.deployment(ns, name).Spec.Template.Spec.Containers[0].Image
}

func (e *kubeEnv) service(ns, name string) *corev1.Service {
	e.t.Helper()
	s, err := e.cs.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("service %s/%s: %v", ns, name, err)
	}
	return s
}

var httpRoutes = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}

// routeWeights reads an HTTPRoute's backends as "name=weight" in order.
func (e *kubeEnv) routeWeights(ns, name string) string {
	e.t.Helper()
	u, err := e.dyn.Resource(httpRoutes).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return "error: " + err.Error()
	}
	rules := u.Object["spec"].(map[string]any)["rules"].([]any)
	var out []string
	for _, ref := range rules[0].(map[string]any)["backendRefs"].([]any) {
		m := ref.(map[string]any)
		out = append(out, fmt.Sprintf("%s=%v", m["name"], m["weight"]))
	}
	return strings.Join(out, " ")
}

// eventually polls cond until it returns "" or timeout passes, then fails
// with cond's last word.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %s", what, timeout, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestKubernetes_FirstDeployCreatesDeploymentAndServiceLaterDeploysRollItAndABadReleaseIsRolledBack(t *testing.T) {
	e := newKubeEnv(t)
	e.mustRun("apps", "create", "web")
	// The cluster has no storage provisioner: a volume of the class the
	// app names waits for the claim, and the real controller binds them.
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "web-data-volume"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")},
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName:       "manual",
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: t.TempDir()}},
		},
	}
	if _, err := e.cs.CoreV1().PersistentVolumes().Create(context.Background(), pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.cs.CoreV1().PersistentVolumes().Delete(context.Background(), pv.Name, metav1.DeleteOptions{})
	})
	yaml := kubeSpec("web", "20s", `volumes:
  - name: data
    path: /var/lib/web
    size: 2Gi
resources:
  requests: {cpu: 100m, memory: 64Mi}
  limits: {memory: 256Mi}
`) + `  service: {type: NodePort, node_port: 30080}
  storage_class: manual
`
	out, code := e.deployImage("web", yaml, 1)
	if code != 0 {
		t.Fatalf("first deploy: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "3/3 updated, 3 ready, 3 available") {
		t.Errorf("deploy did not stream the Deployment's progress:\n%s", out)
	}

	// What the first deploy made, as kubectl would show it.
	d := e.deployment("web", "web")
	for k, v := range map[string]string{"app.kubernetes.io/name": "web", "app.kubernetes.io/instance": "web",
		"app.kubernetes.io/version": "v1", "app.kubernetes.io/managed-by": "nonstop"} {
		if d.Labels[k] != v || d.Spec.Template.Labels[k] != v {
			t.Errorf("label %s = %q on the deployment, %q on its pods; want %q", k, d.Labels[k], d.Spec.Template.Labels[k], v)
		}
	}
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	switch {
	case *d.Spec.Replicas != 3:
		t.Errorf("replicas = %d, want 3", *d.Spec.Replicas)
	case c.Image != imageRef("web", 1):
		t.Errorf("image = %s, want the pinned %s", c.Image, imageRef("web", 1))
	case c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/healthz":
		t.Errorf("readiness probe = %+v, want GET /healthz", c.ReadinessProbe)
	case d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0 || d.Spec.Strategy.RollingUpdate.MaxSurge.IntValue() != 1:
		t.Errorf("rolling update = %+v, want maxUnavailable 0, maxSurge 1", d.Spec.Strategy.RollingUpdate)
	case c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds != 3:
		t.Errorf("preStop = %+v, want a 3 s sleep", c.Lifecycle)
	case *pod.TerminationGracePeriodSeconds < 3+10:
		t.Errorf("terminationGracePeriodSeconds = %d, want >= preStop 3 + drain 10", *pod.TerminationGracePeriodSeconds)
	case len(pod.TopologySpreadConstraints) != 1 || pod.TopologySpreadConstraints[0].TopologyKey != "kubernetes.io/hostname":
		t.Errorf("topology spread = %+v, want across nodes", pod.TopologySpreadConstraints)
	case c.Resources.Requests.Cpu().String() != "100m" || c.Resources.Limits.Memory().String() != "256Mi":
		t.Errorf("resources = %+v", c.Resources)
	case d.Spec.ProgressDeadlineSeconds == nil || *d.Spec.ProgressDeadlineSeconds != 20:
		t.Errorf("progressDeadlineSeconds = %v, want 20 (health.start_timeout)", d.Spec.ProgressDeadlineSeconds)
	}
	// The volume: a claim per app, mounted where the spec says.
	pvc, err := e.cs.CoreV1().PersistentVolumeClaims("web").Get(context.Background(), "web-data", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("claim web-data: %v", err)
	}
	if got := pvc.Spec.Resources.Requests.Storage().String(); got != "2Gi" || pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "manual" {
		t.Errorf("claim asks for %s of class %v, want 2Gi of manual", got, pvc.Spec.StorageClassName)
	}
	if pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.VolumeName != pv.Name {
		t.Errorf("claim is %s on %q, want bound to %s", pvc.Status.Phase, pvc.Spec.VolumeName, pv.Name)
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/var/lib/web" ||
		len(pod.Volumes) != 1 || pod.Volumes[0].PersistentVolumeClaim == nil || pod.Volumes[0].PersistentVolumeClaim.ClaimName != "web-data" {
		t.Errorf("the claim is not mounted at /var/lib/web: mounts %+v, volumes %+v", c.VolumeMounts, pod.Volumes)
	}
	if _, err := e.cs.PolicyV1().PodDisruptionBudgets("web").Get(context.Background(), "web", metav1.GetOptions{}); err != nil {
		t.Errorf("no disruption budget for 3 pods: %v", err)
	}
	svc := e.service("web", "web")
	if svc.Spec.Type != corev1.ServiceTypeNodePort || svc.Spec.Ports[0].NodePort != 30080 {
		t.Errorf("service = %s node port %d, want NodePort 30080", svc.Spec.Type, svc.Spec.Ports[0].NodePort)
	}
	uid := svc.UID

	// The second deploy rolls the Deployment; the Service stays the same object.
	if out, code := e.deployImage("web", yaml, 2); code != 0 {
		t.Fatalf("second deploy: exit %d\n%s", code, out)
	}
	d = e.deployment("web", "web")
	if d.Spec.Template.Spec.Containers[0].Image != imageRef("web", 2) || d.Labels["app.kubernetes.io/version"] != "v2" {
		t.Errorf("after the second deploy the deployment runs %s (%s)", d.Spec.Template.Spec.Containers[0].Image, d.Labels["app.kubernetes.io/version"])
	}
	if d.Status.UpdatedReplicas != 3 || d.Status.AvailableReplicas != 3 || d.Status.Replicas != 3 {
		t.Errorf("after the second deploy: %d updated, %d available, %d pods; want 3, 3, 3", d.Status.UpdatedReplicas, d.Status.AvailableReplicas, d.Status.Replicas)
	}
	if got := e.service("web", "web").UID; got != uid {
		t.Errorf("the Service was re-created: uid %s, then %s", uid, got)
	}

	// A release whose pods never become Ready: nonstop rolls it back by
	// itself and says which pods failed and why.
	bad := strings.Replace(yaml, "kubernetes:\n", "kubernetes:\n  labels: {kwok.test/not-ready: \"true\"}\n", 1)
	bad = strings.Replace(bad, "start_timeout: 20s", "start_timeout: 5s", 1)
	out, code = e.deployImage("web", bad, 3)
	if code == 0 {
		t.Fatalf("a release that never turns ready was deployed:\n%s", out)
	}
	for _, want := range []string{"rolled back", "did not become ready", "readiness probe failing"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy output lacks %q:\n%s", want, out)
		}
	}
	d = e.deployment("web", "web")
	if got := d.Spec.Template.Spec.Containers[0].Image; got != imageRef("web", 2) {
		t.Errorf("after the rollback the deployment runs %s, want v2's %s", got, imageRef("web", 2))
	}
	eventually(t, 20*time.Second, "v2 back on every pod", func() string {
		d := e.deployment("web", "web")
		if d.Status.UpdatedReplicas != 3 || d.Status.AvailableReplicas != 3 || d.Status.Replicas != 3 {
			return fmt.Sprintf("%d updated, %d available, %d pods", d.Status.UpdatedReplicas, d.Status.AvailableReplicas, d.Status.Replicas)
		}
		return ""
	})
	if got := e.service("web", "web").UID; got != uid {
		t.Errorf("the Service was re-created by the rollback: uid %s, then %s", uid, got)
	}
	status := e.mustRun("status", "web")
	if !strings.Contains(status, "http://web.web.svc/ (in the cluster) http://NODE:30080/ (any node)") {
		t.Errorf("status should say where the app is reached (its Service and node port, not nonstop's proxy):\n%s", status)
	}
	if !strings.Contains(status, "live:     v2") || strings.Count(status, "pod on kwok-node-") != 3 || strings.Count(status, "serving") != 3 {
		t.Errorf("status after the rollback, want v2 live and its 3 pods serving:\n%s", status)
	}
}

func TestKubernetes_CanaryWeightsAreInTheHTTPRouteAndPromoteAndAbortMoveThem(t *testing.T) {
	e := newKubeEnv(t)
	e.mustRun("apps", "create", "shop")
	yaml := kubeSpec("shop", "20s", "") + `  gateway: {name: public, hostnames: [shop.example.test]}
`
	if out, code := e.deployImage("shop", yaml, 1); code != 0 {
		t.Fatalf("first deploy: exit %d\n%s", code, out)
	}
	if got := e.routeWeights("shop", "shop"); got != "shop=100" {
		t.Errorf("route after the first deploy: %s, want shop=100", got)
	}
	canary := strings.Replace(yaml, "strategy: rolling", `strategy: canary
  canary:
    steps:
      - {weight: 20, pause: manual}
      - {weight: 60, pause: manual}
    analysis: {interval: 500ms}`, 1)

	e.deployImage("shop", canary, 2, "--detach")
	weights := func(want string) {
		t.Helper()
		eventually(t, 30*time.Second, "route "+want, func() string {
			if got := e.routeWeights("shop", "shop"); got != want {
				return got
			}
			return ""
		})
	}
	weights("shop=80 shop-v2=20")
	if d := e.deployment("shop", "shop-v2"); *d.Spec.Replicas != 1 {
		t.Errorf("the 20%% canary runs %d pods, want 1 of 3", *d.Spec.Replicas)
	}
	state := func(want string) {
		t.Helper()
		eventually(t, 10*time.Second, "rollout "+want, func() string {
			rs, err := e.client().Rollouts(context.Background(), "shop")
			if err != nil || len(rs) == 0 || string(rs[0].State) != want {
				return fmt.Sprintf("%v %v", err, rs[0].State)
			}
			return ""
		})
	}
	e.mustRun("pause", "shop")
	state("paused")
	e.mustRun("resume", "shop")
	state("shifting")
	e.mustRun("promote", "shop")
	weights("shop=40 shop-v2=60")
	e.mustRun("promote", "shop")
	weights("shop=100")
	if r := e.waitRollout("shop", 30*time.Second); r.State != "done" {
		t.Fatalf("canary ended %s: %s", r.State, r.Reason)
	}
	if got := e.runs("shop", "shop"); got != imageRef("shop", 2) {
		t.Errorf("after promotion the stable deployment runs %s, want v2", got)
	}
	if _, err := e.cs.AppsV1().Deployments("shop").Get(context.Background(), "shop-v2", metav1.GetOptions{}); err == nil {
		t.Errorf("the canary's own deployment is left after promotion")
	}

	// Abort: every client back on stable at once, the canary removed.
	e.deployImage("shop", canary, 3, "--detach")
	weights("shop=80 shop-v3=20")
	e.mustRun("abort", "shop")
	weights("shop=100")
	if r := e.waitRollout("shop", 30*time.Second); r.State != "rolled_back" {
		t.Fatalf("aborted canary ended %s: %s", r.State, r.Reason)
	}
	if got := e.runs("shop", "shop"); got != imageRef("shop", 2) {
		t.Errorf("after the abort the stable deployment runs %s, want v2", got)
	}
	eventually(t, 10*time.Second, "the aborted canary's deployment deleted", func() string {
		if _, err := e.cs.AppsV1().Deployments("shop").Get(context.Background(), "shop-v3", metav1.GetOptions{}); err == nil {
			return "shop-v3 still there"
		}
		return ""
	})
}

func TestKubernetes_BlueGreenSwitchesTheServiceToTheNewSetAndKeepsTheOldWarmForAnInstantRollback(t *testing.T) {
	e := newKubeEnv(t)
	ctx := context.Background()
	e.mustRun("apps", "create", "bg")
	yaml := kubeSpec("bg", "20s", "")
	if out, code := e.deployImage("bg", yaml, 1); code != 0 {
		t.Fatalf("first deploy: exit %d\n%s", code, out)
	}
	uid := e.service("bg", "bg").UID
	// Every change to the Service's selector, in order.
	w, err := e.cs.CoreV1().Services("bg").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=bg"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	selectors := func(n int) []string {
		t.Helper()
		var seen []string
		timeout := time.After(10 * time.Second)
		for len(seen) < n {
			select {
			case ev := <-w.ResultChan():
				if ev.Type == watch.Modified {
					seen = append(seen, ev.Object.(*corev1.Service).Spec.Selector["nonstop.dev/set"])
				}
			case <-timeout:
				t.Fatalf("the service's selector changed %v, want %d changes", seen, n)
			}
		}
		return seen
	}

	// keep_old_for 0s: the switch, then the fold into the stable Deployment.
	bluegreen := strings.Replace(yaml, "strategy: rolling", "strategy: bluegreen\n  bluegreen: {keep_old_for: 0s}", 1)
	e.deployImage("bg", bluegreen, 2, "--detach")
	eventually(t, 30*time.Second, "the green set ready beside the blue one", func() string {
		d, err := e.cs.AppsV1().Deployments("bg").Get(ctx, "bg-v2", metav1.GetOptions{})
		if err != nil || d.Status.ReadyReplicas != 3 {
			return fmt.Sprintf("bg-v2: %v", err)
		}
		return ""
	})
	if sel := e.service("bg", "bg").Spec.Selector["nonstop.dev/set"]; sel != "stable" {
		t.Fatalf("before promotion the service selects %q, want stable", sel)
	}
	e.mustRun("promote", "bg")
	if r := e.waitRollout("bg", 30*time.Second); r.State != "done" {
		t.Fatalf("blue-green ended %s: %s", r.State, r.Reason)
	}
	if seen := selectors(2); seen[0] != "v2" || seen[1] != "stable" {
		t.Errorf("the service's selector went %v, want [v2 stable]: the switch to green, then back to the folded stable set", seen)
	}
	if got := e.runs("bg", "bg"); got != imageRef("bg", 2) {
		t.Errorf("after the fold the stable deployment runs %s, want v2", got)
	}

	// keep_old_for 10m: the old release stays warm in the stable
	// Deployment, and a rollback is one switch back.
	warm := strings.Replace(yaml, "strategy: rolling", "strategy: bluegreen\n  bluegreen: {keep_old_for: 10m, auto_promote_after: 1s}", 1)
	if out, code := e.deployImage("bg", warm, 3); code != 0 {
		t.Fatalf("blue-green v3: exit %d\n%s", code, out)
	}
	if seen := selectors(1); seen[0] != "v3" {
		t.Errorf("the switch to v3 set the selector to %v", seen)
	}
	if got := e.runs("bg", "bg"); got != imageRef("bg", 2) {
		t.Errorf("with keep_old_for the stable deployment runs %s, want v2 kept warm", got)
	}
	if status := e.mustRun("status", "bg"); !strings.Contains(status, "live:     v3") {
		t.Errorf("status after the switch:\n%s", status)
	}
	start := time.Now()
	e.mustRun("rollback", "bg")
	seen := selectors(1)
	took := time.Since(start)
	if seen[0] != "stable" {
		t.Errorf("the rollback set the selector to %v, want stable (v2, warm)", seen)
	}
	if r := e.waitRollout("bg", 30*time.Second); r.State != "done" || r.Kind != "rollback" {
		t.Fatalf("rollback ended %s %s: %s", r.Kind, r.State, r.Reason)
	}
	t.Logf("rollback to the warm v2: every client switched %s after the command", took)
	eventually(t, 10*time.Second, "v3's set deleted", func() string {
		if _, err := e.cs.AppsV1().Deployments("bg").Get(ctx, "bg-v3", metav1.GetOptions{}); err == nil {
			return "bg-v3 still there"
		}
		return ""
	})

	// A new blue-green rollout while a release is kept warm first folds
	// the live set into the stable Deployment, then goes as usual.
	if out, code := e.deployImage("bg", warm, 4); code != 0 {
		t.Fatalf("blue-green v4: exit %d\n%s", code, out)
	}
	nowarm := strings.Replace(warm, "keep_old_for: 10m", "keep_old_for: 0s", 1)
	if out, code := e.deployImage("bg", nowarm, 5); code != 0 {
		t.Fatalf("blue-green v5 from a warm v4: exit %d\n%s", code, out)
	}
	if seen := selectors(4); strings.Join(seen, " ") != "v4 stable v5 stable" {
		t.Errorf("the selector went %v, want [v4 stable v5 stable]: v4's switch, its fold, v5's switch, its fold", seen)
	}
	if got := e.runs("bg", "bg"); got != imageRef("bg", 5) {
		t.Errorf("the stable deployment runs %s, want v5", got)
	}
	if got := e.service("bg", "bg").UID; got != uid {
		t.Errorf("the Service was re-created: %s, then %s", uid, got)
	}
}

func TestKubernetes_RestartMidRolloutFinishesOrRollsBack(t *testing.T) {
	e := newKubeEnv(t)
	e.mustRun("apps", "create", "rs")
	yaml := kubeSpec("rs", "20s", "") + `  gateway: {name: public}
`
	if out, code := e.deployImage("rs", yaml, 1); code != 0 {
		t.Fatalf("first deploy: exit %d\n%s", code, out)
	}
	// A canary waiting at a manual step when the control plane dies: the
	// restarted one keeps the step's weights and finishes when promoted.
	canary := strings.Replace(yaml, "strategy: rolling", `strategy: canary
  canary:
    steps:
      - {weight: 30, pause: manual}`, 1)
	e.deployImage("rs", canary, 2, "--detach")
	eventually(t, 30*time.Second, "canary at 30%", func() string {
		if got := e.routeWeights("rs", "rs"); got != "rs=70 rs-v2=30" {
			return got
		}
		return ""
	})
	e.killServer()
	e.startServer()
	eventually(t, 30*time.Second, "the promote taken by the resumed rollout", func() string {
		if out, code := e.run("promote", "rs"); code != 0 {
			return out
		}
		return ""
	})
	if r := e.waitRollout("rs", 30*time.Second); r.State != "done" {
		t.Fatalf("resumed canary ended %s: %s", r.State, r.Reason)
	}
	if got := e.routeWeights("rs", "rs"); got != "rs=100" {
		t.Errorf("route after the resumed canary: %s", got)
	}

	// A rolling deploy whose pods never become Ready, interrupted: the
	// restarted control plane rolls it back.
	bad := strings.Replace(yaml, "kubernetes:\n", "kubernetes:\n  labels: {kwok.test/not-ready: \"true\"}\n", 1)
	bad = strings.Replace(bad, "start_timeout: 20s", "start_timeout: 6s", 1)
	e.deployImage("rs", bad, 3, "--detach")
	eventually(t, 20*time.Second, "the bad release rolling", func() string {
		d := e.deployment("rs", "rs")
		if d.Spec.Template.Spec.Containers[0].Image != imageRef("rs", 3) {
			return "not applied yet"
		}
		return ""
	})
	e.killServer()
	e.startServer()
	r := e.waitRollout("rs", 60*time.Second)
	if r.State != "rolled_back" || !strings.Contains(r.Reason, "did not become ready") {
		t.Fatalf("interrupted bad rollout ended %s: %s", r.State, r.Reason)
	}
	if got := e.runs("rs", "rs"); got != imageRef("rs", 2) {
		t.Errorf("after the rollback the deployment runs %s, want v2", got)
	}
}

func TestKubernetes_ABuildRunsAsAJobOnANodeWithItsBuildLabels(t *testing.T) {
	e := newKubeEnv(t, "--kube-builds", "--registry", "registry.test/team")
	ctx := context.Background()
	e.mustRun("apps", "create", "bj")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "nonstop.yaml"), []byte(kubeSpec("bj", "20s", "build_labels: [gpu]\n")), 0o644)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY app /app\n"), 0o644)
	e.mustRun("deploy", dir, "--app", "bj", "--detach")

	var job *batchv1.Job
	eventually(t, 30*time.Second, "the build job", func() string {
		jobs, err := e.cs.BatchV1().Jobs("bj").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=bj,app.kubernetes.io/component=build"})
		if err != nil || len(jobs.Items) != 1 || !strings.HasPrefix(jobs.Items[0].Name, "bj-build-1-") {
			return fmt.Sprintf("%v %v", err, jobs)
		}
		job = &jobs.Items[0]
		return ""
	})
	sel := job.Spec.Template.Spec.NodeSelector
	if len(sel) != 2 || sel["nonstop.dev/build"] != "true" || sel["nonstop.dev/build-gpu"] != "true" {
		t.Errorf("node selector = %v, want nonstop.dev/build and nonstop.dev/build-gpu", sel)
	}
	if img := job.Spec.Template.Spec.Containers[0].Image; !strings.Contains(img, "kaniko") {
		t.Errorf("builder image = %s, want the default kaniko", img)
	}
	if args := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " "); !strings.Contains(args, "--destination=registry.test/team/bj:1") {
		t.Errorf("builder args = %s, want the push to registry.test/team/bj:1", args)
	}
	// No node offers gpu yet: the build waits, and while it does, its
	// source is served to the fetch container with the build's own token.
	var sourceURL string
	for _, env := range job.Spec.Template.Spec.InitContainers[0].Env {
		if env.Name == "NONSTOP_SOURCE_URL" {
			sourceURL = env.Value
		}
		if env.Value != "" && env.Name == "NONSTOP_BUILD_TOKEN" {
			t.Errorf("the build token is in the job's spec")
		}
	}
	secret, err := e.cs.CoreV1().Secrets("bj").Get(ctx, job.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	token := string(secret.Data["token"])
	for _, try := range []struct {
		token string
		want  int
	}{{"wrong", 401}, {token, 200}, {token, 401}} { // the token opens the source once
		token, want := try.token, try.want
		req, _ := http.NewRequest("GET", sourceURL, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		files := tarNames(t, resp)
		if resp.StatusCode != want || want == 200 && !slices.Contains(files, "Dockerfile") {
			t.Errorf("GET %s with token %q: %d %v, want %d (and the source)", sourceURL, token[:min(len(token), 5)], resp.StatusCode, files, want)
		}
	}
	// The Job's controller creates the pod; the scheduler finds no node.
	eventually(t, 20*time.Second, "the build pod, unschedulable", func() string {
		pods, err := e.cs.CoreV1().Pods("bj").List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + job.Name})
		if err != nil || len(pods.Items) != 1 {
			return fmt.Sprintf("%v %v", err, pods)
		}
		p := pods.Items[0]
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && p.Spec.NodeName == "" {
				return ""
			}
		}
		return fmt.Sprintf("pod on %q, conditions %v", p.Spec.NodeName, p.Status.Conditions)
	})

	// A node with the label takes it. (kwok runs no builder: the pod
	// completes without the digest a real builder writes, and nonstop says so.)
	labelNode(t, e.cs, "kwok-node-0", "nonstop.dev/build-gpu", "true")
	r := e.waitRollout("bj", 30*time.Second)
	if r.State != "failed" || !strings.Contains(r.Reason, "reported no image digest") {
		t.Errorf("build ended %s: %s", r.State, r.Reason)
	}
	pods, _ := e.cs.CoreV1().Pods("bj").List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + job.Name})
	if len(pods.Items) != 1 || pods.Items[0].Spec.NodeName != "kwok-node-0" {
		t.Errorf("the build pod ran on %v, want kwok-node-0 (the build node with gpu)", pods.Items)
	}
	if _, err := e.cs.CoreV1().Secrets("bj").Get(ctx, job.Name, metav1.GetOptions{}); err == nil {
		t.Errorf("the build's token outlived the build")
	}
}

// labelNode sets a label on a node until the test ends.
func labelNode(t *testing.T, cs k8s.Interface, node, key, value string) {
	t.Helper()
	patch := func(v any) {
		body, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]any{key: v}}})
		if _, err := cs.CoreV1().Nodes().Patch(context.Background(), node, types.MergePatchType, body, metav1.PatchOptions{}); err != nil {
			t.Errorf("label node %s: %v", node, err)
		}
	}
	patch(value)
	t.Cleanup(func() { patch(nil) })
}

// tarNames lists the files of a tar.gz response body ("" entries for a non-200).
func tarNames(t *testing.T, resp *http.Response) []string {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil
	}
	gz, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatalf("source is no gzip: %v", err)
	}
	var names []string
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	return names
}

func TestKubernetes_ARestartReconcilesTheClusterAndDeleteRemovesWhatNonstopMade(t *testing.T) {
	e := newKubeEnv(t)
	ctx := context.Background()
	e.mustRun("apps", "create", "rc")
	if out, code := e.deployImage("rc", kubeSpec("rc", "20s", ""), 1); code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, out)
	}
	// While nonstop is down, someone deletes the Deployment.
	e.killServer()
	if err := e.cs.AppsV1().Deployments("rc").Delete(ctx, "rc", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.startServer()
	eventually(t, 30*time.Second, "the live release back on the cluster", func() string {
		d, err := e.cs.AppsV1().Deployments("rc").Get(ctx, "rc", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		if d.Spec.Template.Spec.Containers[0].Image != imageRef("rc", 1) || d.Status.AvailableReplicas != 3 {
			return fmt.Sprintf("%s with %d available", d.Spec.Template.Spec.Containers[0].Image, d.Status.AvailableReplicas)
		}
		return ""
	})
	if r := e.waitRollout("rc", 30*time.Second); r.Kind != "recover" || r.State != "done" {
		t.Errorf("the restart's rollout: %s %s (%s)", r.Kind, r.State, r.Reason)
	}

	e.mustRun("apps", "delete", "rc")
	eventually(t, 30*time.Second, "the app's objects gone", func() string {
		ds, _ := e.cs.AppsV1().Deployments("rc").List(ctx, metav1.ListOptions{})
		svcs, _ := e.cs.CoreV1().Services("rc").List(ctx, metav1.ListOptions{})
		if len(ds.Items)+len(svcs.Items) > 0 {
			return fmt.Sprintf("%d deployments, %d services left", len(ds.Items), len(svcs.Items))
		}
		return ""
	})
}

// proxyRoute is the route nonstop's proxy holds for an app, summarised as
// "split=vN:W backends=v1:3,v2:1" (backends counted by release).
func (e *kubeEnv) proxyRoute(app string) (string, []proxy.Backend) {
	e.t.Helper()
	c := daemon.NewClient(server.SocketPath(e.data))
	defer c.Close()
	routes, err := c.Routes(context.Background())
	if err != nil {
		e.t.Fatalf("proxy routes: %v", err)
	}
	for _, r := range routes {
		if r.App != app {
			continue
		}
		count := map[int]int{}
		for _, b := range r.Backends {
			count[b.Release]++
		}
		var parts []string
		for _, rel := range slices.Sorted(maps.Keys(count)) {
			parts = append(parts, fmt.Sprintf("v%d:%d", rel, count[rel]))
		}
		split := "none"
		if r.Split != nil {
			split = fmt.Sprintf("v%d:%d", r.Split.Release, r.Split.Weight)
		}
		return fmt.Sprintf("split=%s backends=%s", split, strings.Join(parts, ",")), r.Backends
	}
	return "no route", nil
}

func TestKubernetes_OnThePodNetworkTheProxyRoutesToTheEndpointsAndSplitsTheCanary(t *testing.T) {
	e := newKubeEnv(t, "--kube-pod-network")
	e.mustRun("apps", "create", "pn")
	yaml := kubeSpec("pn", "20s", "")
	if out, code := e.deployImage("pn", yaml, 1); code != 0 {
		t.Fatalf("first deploy: exit %d\n%s", code, out)
	}
	route := func(want string) {
		t.Helper()
		eventually(t, 20*time.Second, "proxy route "+want, func() string {
			if got, _ := e.proxyRoute("pn"); got != want {
				return got
			}
			return ""
		})
	}
	// The proxy's backends are the ready endpoints of the Service's
	// EndpointSlices: the pods' IPs and the container port.
	route("split=none backends=v1:3")
	_, backends := e.proxyRoute("pn")
	pods, err := e.cs.CoreV1().Pods("pn").List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=pn"})
	if err != nil {
		t.Fatal(err)
	}
	ips := map[string]string{}
	for _, p := range pods.Items {
		ips[p.Name] = p.Status.PodIP + ":8080"
	}
	for _, b := range backends {
		if ips[b.ID] != b.Addr {
			t.Errorf("backend %s at %s, but its pod's IP:port is %q", b.ID, b.Addr, ips[b.ID])
		}
	}

	// A canary without a Gateway: the proxy splits it.
	canary := strings.Replace(yaml, "strategy: rolling", `strategy: canary
  canary:
    steps:
      - {weight: 25, pause: manual}
    analysis: {interval: 500ms, min_requests: 0}`, 1)
	e.deployImage("pn", canary, 2, "--detach")
	route("split=v2:25 backends=v1:3,v2:1")
	// The control plane dies at the step: the proxy keeps the split, and
	// the restarted one restores it before it routes to the pods again.
	e.killServer()
	route("split=v2:25 backends=v1:3,v2:1")
	e.startServer()
	route("split=v2:25 backends=v1:3,v2:1")
	eventually(t, 30*time.Second, "the promote taken by the resumed rollout", func() string {
		if out, code := e.run("promote", "pn"); code != 0 {
			return out
		}
		return ""
	})
	if r := e.waitRollout("pn", 30*time.Second); r.State != "done" {
		t.Fatalf("canary ended %s: %s", r.State, r.Reason)
	}
	route("split=none backends=v2:3")

	// Blue-green keeping v2 warm: every client of the proxy on v3's set
	// (the stable Service selects it too; v2's pods wait, in no route). A
	// restart folds v3 into the
	// stable Deployment (the window is not kept across restarts), with
	// the clients on v3 throughout.
	warm := strings.Replace(yaml, "strategy: rolling", "strategy: bluegreen\n  bluegreen: {keep_old_for: 10m, auto_promote_after: 1s}", 1)
	if out, code := e.deployImage("pn", warm, 3); code != 0 {
		t.Fatalf("blue-green v3: exit %d\n%s", code, out)
	}
	route("split=v3:100 backends=v3:3")
	e.killServer()
	e.startServer()
	route("split=none backends=v3:3")
	if got := e.runs("pn", "pn"); got != imageRef("pn", 3) {
		t.Errorf("after the fold at restart the stable deployment runs %s, want v3", got)
	}
}

func TestKubernetes_WhatCannotWorkIsRefusedBeforeAnythingChanges(t *testing.T) {
	e := newKubeEnv(t)
	e.mustRun("apps", "create", "no")
	// From source, with no registry the cluster could pull the image from.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "nonstop.yaml"), []byte(kubeSpec("no", "20s", "")), 0o644)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644)
	if out, code := e.run("deploy", dir, "--app", "no"); code == 0 || !strings.Contains(out, "--registry") {
		t.Errorf("a source deploy with no registry: exit %d\n%s", code, out)
	}
	// A canary with nothing to split its traffic.
	canary := strings.Replace(kubeSpec("no", "20s", ""), "strategy: rolling", "strategy: canary\n  canary: {steps: [{weight: 10, pause: 1s}]}", 1)
	if out, code := e.deployImage("no", canary, 1); code == 0 || !strings.Contains(out, "needs kubernetes.gateway") {
		t.Errorf("a canary with no gateway: exit %d\n%s", code, out)
	}
	if ds, err := e.cs.AppsV1().Deployments("no").List(context.Background(), metav1.ListOptions{}); err == nil && len(ds.Items) > 0 {
		t.Errorf("a refused deploy left %d deployments", len(ds.Items))
	}

	// nonstop changes only what it made: not a namespace no one gave it,
	// not an object of the same name that is no app's.
	ctx := context.Background()
	if _, err := e.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "theirs"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	inTheirs := kubeSpec("no", "20s", "") + "  namespace: theirs\n"
	if out, code := e.deployImage("no", inTheirs, 1); code == 0 || !strings.Contains(out, "namespace theirs exists and is not this app's") {
		t.Errorf("a deploy into a namespace nonstop was not given: exit %d\n%s", code, out)
	}
	if ds, err := e.cs.AppsV1().Deployments("theirs").List(ctx, metav1.ListOptions{}); err != nil || len(ds.Items) > 0 {
		t.Errorf("the refused deploy (and its rollback) wrote into the namespace: %v %d deployments", err, len(ds.Items))
	}
	e.mustRun("apps", "create", "taken")
	if _, err := e.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "taken",
		Labels: map[string]string{"app.kubernetes.io/managed-by": "nonstop"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "taken", Namespace: "taken"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "something-else"}, Ports: []corev1.ServicePort{{Port: 80}}}}
	if _, err := e.cs.CoreV1().Services("taken").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if out, code := e.deployImage("taken", kubeSpec("taken", "20s", ""), 1); code == 0 || !strings.Contains(out, "service taken/taken exists and is not this app's") {
		t.Errorf("a deploy over someone else's Service: exit %d\n%s", code, out)
	}
	if got := e.service("taken", "taken").Spec.Selector["app"]; got != "something-else" {
		t.Errorf("someone else's Service was changed: selector %q", got)
	}
	// Nor a Secret under the name of the release's env Secret.
	e.mustRun("apps", "create", "sec")
	if _, err := e.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "sec",
		Labels: map[string]string{"app.kubernetes.io/managed-by": "nonstop"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sec-env-v1", Namespace: "sec"}, StringData: map[string]string{"TOKEN": "theirs"}}
	if _, err := e.cs.CoreV1().Secrets("sec").Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	withEnv := kubeSpec("sec", "20s", "env: {TOKEN: ours}\n")
	if out, code := e.deployImage("sec", withEnv, 1); code == 0 || !strings.Contains(out, "secret sec/sec-env-v1 exists and is not this app's") {
		t.Errorf("a deploy over someone else's Secret: exit %d\n%s", code, out)
	}
	if got, err := e.cs.CoreV1().Secrets("sec").Get(ctx, "sec-env-v1", metav1.GetOptions{}); err != nil || string(got.Data["TOKEN"]) != "theirs" {
		t.Errorf("someone else's Secret was changed: %v %q", err, got.Data["TOKEN"])
	}
}

// The images of issue "containers" reach the cluster: a Dockerfile app
// built on the Engine, pushed to the registry, and deployed pinned by the
// digest the registry has for its build tag.
func TestKubernetes_ASourceDeployRunsTheImageBuiltAndPushedPinnedByDigest(t *testing.T) {
	reg := needDocker(t)
	e := newKubeEnvWith(t, []string{"--require-docker", "--registry", reg.addr, "--registry-user", reg.user},
		[]string{"NONSTOP_REGISTRY_PASSWORD=" + reg.password})
	app := uniqueApp("kd")
	e.mustRun("apps", "create", app)
	dir, _ := dockerSource(t, app, "1", "30s")
	yaml, err := os.ReadFile(filepath.Join(dir, "nonstop.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	k := strings.Replace(string(yaml), "runtime: docker", "runtime: kubernetes", 1) + "kubernetes: {min_ready: 0s}\n"
	os.WriteFile(filepath.Join(dir, "nonstop.yaml"), []byte(k), 0o644)
	if out, code := e.run("deploy", dir); code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, out)
	}
	img := e.runs(app, app)
	repo, digest, ok := strings.Cut(img, "@")
	if !ok || repo != reg.addr+"/"+app || !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("the deployment runs %s, want %s/%s@sha256:...", img, reg.addr, app)
	}
	req, _ := http.NewRequest("HEAD", "http://"+reg.addr+"/v2/"+app+"/manifests/1", nil)
	req.SetBasicAuth(reg.user, reg.password)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Docker-Content-Digest"); got != digest {
		t.Errorf("the registry's tag 1 of %s is %s (status %d); the deployment runs %s", app, got, resp.StatusCode, digest)
	}
}

// With one pod and a short deadline, Kubernetes' own verdict
// (ProgressDeadlineExceeded) comes with nonstop's: the rollback to v1, to
// a ReplicaSet that exists, completes.
func TestKubernetes_AOnePodAppRollsBackAfterItsDeadline(t *testing.T) {
	e := newKubeEnv(t)
	e.mustRun("apps", "create", "one")
	yaml := strings.Replace(kubeSpec("one", "3s", ""), "instances: 3", "instances: 1", 1)
	if out, code := e.deployImage("one", yaml, 1); code != 0 {
		t.Fatalf("first deploy: exit %d\n%s", code, out)
	}
	bad := strings.Replace(yaml, "kubernetes:\n", "kubernetes:\n  labels: {kwok.test/not-ready: \"true\"}\n", 1)
	out, code := e.deployImage("one", bad, 2)
	if code == 0 || !strings.Contains(out, "rolled back") {
		t.Fatalf("never-ready v2: exit %d\n%s", code, out)
	}
	r := e.waitRollout("one", 30*time.Second)
	if r.State != "rolled_back" {
		t.Errorf("rollout ended %s: %s", r.State, r.Reason)
	}
	if got := e.runs("one", "one"); got != imageRef("one", 1) {
		t.Errorf("after the rollback the deployment runs %s, want v1", got)
	}
}

func TestKubernetes_ScaleStopStartAndEnvActOnTheDeploymentAndEnvValuesStayInASecret(t *testing.T) {
	e := newKubeEnv(t)
	e.mustRun("apps", "create", "ops")
	if out, code := e.deployImage("ops", kubeSpec("ops", "20s", ""), 1); code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, out)
	}
	pods := func(want int32) {
		t.Helper()
		eventually(t, 30*time.Second, fmt.Sprintf("%d pods available", want), func() string {
			d := e.deployment("ops", "ops")
			if *d.Spec.Replicas != want || d.Status.AvailableReplicas != want || d.Status.Replicas != want {
				return fmt.Sprintf("replicas %d, %d available, %d pods", *d.Spec.Replicas, d.Status.AvailableReplicas, d.Status.Replicas)
			}
			return ""
		})
	}
	e.mustRun("scale", "ops", "5")
	pods(5)
	if _, err := e.cs.PolicyV1().PodDisruptionBudgets("ops").Get(context.Background(), "ops", metav1.GetOptions{}); err != nil {
		t.Errorf("no disruption budget at 5 pods: %v", err)
	}
	e.mustRun("stop", "ops")
	pods(0)
	if st := e.mustRun("status", "ops"); !strings.Contains(st, "(stopped)") {
		t.Errorf("status after stop:\n%s", st)
	}
	e.mustRun("start", "ops")
	pods(5)
	e.mustRun("env", "set", "ops", "DB_PASSWORD=hunter2-s3cret")
	if r := e.waitRollout("ops", 30*time.Second); r.State != "done" {
		t.Fatalf("env rollout ended %s: %s", r.State, r.Reason)
	}
	// The value reaches the pods from the release's env Secret; whoever
	// reads Deployments does not see it.
	d := e.deployment("ops", "ops")
	raw, _ := json.Marshal(d)
	if strings.Contains(string(raw), "hunter2") {
		t.Errorf("the secret value is in the Deployment")
	}
	var ref *corev1.SecretKeySelector
	for _, env := range d.Spec.Template.Spec.Containers[0].Env {
		if env.Name == "DB_PASSWORD" && env.ValueFrom != nil {
			ref = env.ValueFrom.SecretKeyRef
		}
	}
	if ref == nil || d.Labels["app.kubernetes.io/version"] != "v2" {
		t.Fatalf("after env set the deployment runs %s with env %v, want v2 with DB_PASSWORD from a Secret", d.Labels["app.kubernetes.io/version"], d.Spec.Template.Spec.Containers[0].Env)
	}
	secret, err := e.cs.CoreV1().Secrets("ops").Get(context.Background(), ref.Name, metav1.GetOptions{})
	if err != nil || string(secret.Data[ref.Key]) != "hunter2-s3cret" {
		t.Errorf("secret %s key %s: %v %q", ref.Name, ref.Key, err, secret.Data[ref.Key])
	}
	pods(5)
}
