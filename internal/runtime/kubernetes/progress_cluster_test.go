package kubernetes

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nonstopdev/nonstop/internal/spec"
)

func TestApplyDeployment_SameWorkloadTwiceChangesNothingANewReleaseRollsOut(t *testing.T) {
	t.Parallel()
	e := newClusterEnv(t)
	s := kubeSpec(t, "", "")
	if r, err := e.c.StableRelease(e.ctx, "roll", &s); err != nil || r != 0 {
		t.Errorf("StableRelease before any deploy = %d, %v; want 0, nil", r, err)
	}
	if p, err := e.c.Progress(e.ctx, "roll", "roll"); err != nil || p.Found || p.Complete() {
		t.Errorf("Progress of no Deployment = %+v, %v; want not found, not complete, no error", p, err)
	}

	w1 := workload("roll", 1, 0, 2, s)
	if err := e.c.Prepare(e.ctx, w1); err != nil {
		t.Fatal(err)
	}
	gen1, err := e.c.ApplyDeployment(e.ctx, w1)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.c.ApplyDeployment(e.ctx, w1)
	if err != nil {
		t.Fatal(err)
	}
	if again != gen1 {
		t.Errorf("the same Workload applied twice: generation %d then %d, want it unchanged", gen1, again)
	}
	waitComplete(e, "roll", "roll", 1, gen1)

	w2 := w1
	w2.Release, w2.Image = 2, image("roll", 2)
	gen2, err := e.c.ApplyDeployment(e.ctx, w2)
	if err != nil {
		t.Fatal(err)
	}
	if gen2 <= gen1 {
		t.Errorf("release 2: generation %d, want more than release 1's %d", gen2, gen1)
	}
	d, err := e.cs.AppsV1().Deployments("roll").Get(e.ctx, "roll", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Generation != gen2 {
		t.Errorf("ApplyDeployment returned generation %d, the Deployment has %d", gen2, d.Generation)
	}
	if got := d.Spec.Template.Spec.Containers[0].Image; got != image("roll", 2) {
		t.Errorf("image %s, want release 2's", got)
	}
	p := waitComplete(e, "roll", "roll", 2, gen2)
	if p.Wanted != 2 || p.Updated != 2 || p.Ready != 2 || p.Available != 2 || p.Replicas != 2 {
		t.Errorf("complete progress %v (%+v), want 2 of each", p, p)
	}
	if r, err := e.c.StableRelease(e.ctx, "roll", &s); err != nil || r != 2 {
		t.Errorf("StableRelease = %d, %v; want 2", r, err)
	}
}

// waitComplete waits for Deployment ns/name to complete the rollout of
// release at (or after) generation gen, and returns its progress.
func waitComplete(e *clusterEnv, ns, name string, release int, gen int64) Progress {
	e.t.Helper()
	var p Progress
	eventually(e.t, 30*time.Second, fmt.Sprintf("%s/%s completes release %d", ns, name, release), func() string {
		var err error
		p, err = e.c.Progress(e.ctx, ns, name)
		if err != nil {
			return err.Error()
		}
		if !p.Complete() || p.Release != release || p.ObservedGeneration < gen {
			return fmt.Sprintf("release %d, generation %d observed %d, %v", p.Release, p.Generation, p.ObservedGeneration, p)
		}
		return ""
	})
	return p
}

func TestApplyDeployment_IsIdempotentWithEverySettingOfTheSpec(t *testing.T) {
	t.Parallel()
	e := newClusterEnv(t)
	s := testSpec(t, `runtime: kubernetes
port: 9000
instances: 3
health: {path: /ready, interval: 2s, timeout: 1s, start_timeout: 30s, healthy_threshold: 2, unhealthy_threshold: 3}
deploy: {max_surge: 2, max_unavailable: 1, drain_timeout: 20s}
resources:
  requests: {cpu: "0.5", memory: 1G}
  limits: {cpu: "2", memory: 1Gi}
volumes:
  - {name: data, path: /var/lib/data, size: 2Gi}
kubernetes: {min_ready: 1500ms, pre_stop: 3s, labels: {team: shop}, service: {type: LoadBalancer}}
`)
	// PORT and the volumes' variables are nonstop's: the app's own are dropped.
	env := map[string]string{"B": "2", "A": "1", "PORT": "1", "NONSTOP_VOLUME_DATA": "/elsewhere"}
	w := Workload{App: "full", Release: 1, Image: image("full", 1), Env: env, Replicas: 3, Spec: s}
	gen, _, err := e.c.ApplySet(e.ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	before, err := e.cs.AppsV1().Deployments("full").Get(e.ctx, "full", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.c.ApplyDeployment(e.ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	after, err := e.cs.AppsV1().Deployments("full").Get(e.ctx, "full", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again != gen || after.Generation != before.Generation {
		t.Errorf("the same Workload applied twice: generation %d then %d, want it unchanged", gen, again)
	}
	if after.Spec.MinReadySeconds != 2 || *after.Spec.ProgressDeadlineSeconds != 30+2 {
		t.Errorf("minReadySeconds %d progressDeadlineSeconds %d, want 2 (1.5 s rounded up) and 32 (start_timeout + min_ready)",
			after.Spec.MinReadySeconds, *after.Spec.ProgressDeadlineSeconds)
	}
	pod := after.Spec.Template.Spec
	if pod.Volumes[0].PersistentVolumeClaim == nil || pod.Volumes[0].PersistentVolumeClaim.ClaimName != "full-data" {
		t.Errorf("volumes %+v, want the claim full-data", pod.Volumes)
	}
	if after.Spec.Template.Labels["team"] != "shop" || after.Spec.Template.Labels[LabelSet] != "stable" {
		t.Errorf("pod labels %v", after.Spec.Template.Labels)
	}
	// The app's values come from the release's env Secret, not the
	// Deployment: "A=secret:full-env-v1/A" below.
	secret, err := e.cs.CoreV1().Secrets("full").Get(e.ctx, "full-env-v1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range pod.Containers[0].Env {
		if ref := v.ValueFrom; ref != nil && ref.SecretKeyRef != nil {
			got = append(got, fmt.Sprintf("%s=secret:%s/%s=%s", v.Name, ref.SecretKeyRef.Name, ref.SecretKeyRef.Key, secret.Data[ref.SecretKeyRef.Key]))
			continue
		}
		got = append(got, v.Name+"="+v.Value)
	}
	if want := []string{"PORT=9000", "A=secret:full-env-v1/A=1", "B=secret:full-env-v1/B=2", "NONSTOP_VOLUME_DATA=/var/lib/data"}; !slices.Equal(got, want) {
		t.Errorf("env %v, want %v", got, want)
	}
}

func TestProgress_AReleaseSetCompletesOnItsOwn(t *testing.T) {
	t.Parallel()
	e := newClusterEnv(t)
	s := kubeSpec(t, "", "")
	e.deploy(workload("canary", 1, 0, 2, s))
	w := workload("canary", 2, 2, 1, s)
	e.deploy(w)
	waitComplete(e, "canary", "canary-v2", 2, 1)
	if r, err := e.c.StableRelease(e.ctx, "canary", &s); err != nil || r != 1 {
		t.Errorf("StableRelease with a set of release 2 beside it = %d, %v; want 1", r, err)
	}
}

func TestProgress_ANeverReadyReleaseNeverCompletesStallsAndItsPodsAreNamed(t *testing.T) {
	t.Parallel()
	e := newClusterEnv(t)
	// health.start_timeout is the Deployment's progressDeadlineSeconds.
	s := testSpec(t, `runtime: kubernetes
port: 9000
health: {path: /healthz, interval: 1s, timeout: 1s, start_timeout: 2s}
kubernetes: {min_ready: 0s, pre_stop: 0s, labels: {kwok.test/not-ready: "true"}}
`)
	w := workload("stuck", 3, 0, 2, s)
	e.deploy(w)
	d, err := e.cs.AppsV1().Deployments("stuck").Get(e.ctx, "stuck", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Spec.ProgressDeadlineSeconds == nil || *d.Spec.ProgressDeadlineSeconds != 2 {
		t.Errorf("progressDeadlineSeconds %v, want 2 (health.start_timeout)", d.Spec.ProgressDeadlineSeconds)
	}

	// Both pods run, neither turns Ready: one line names both, with why.
	var pods []string
	eventually(t, 20*time.Second, "both pods reported not ready", func() string {
		list, err := e.cs.CoreV1().Pods("stuck").List(e.ctx, metav1.ListOptions{LabelSelector: LabelInstance + "=stuck"})
		if err != nil {
			return err.Error()
		}
		pods = pods[:0]
		for _, p := range list.Items {
			pods = append(pods, p.Name)
		}
		slices.Sort(pods)
		problems, err := e.c.PodProblems(e.ctx, "stuck", &s, 0, 3)
		if err != nil {
			return err.Error()
		}
		if len(pods) != 2 || len(problems) != 1 {
			return fmt.Sprintf("pods %v, problems %q", pods, problems)
		}
		prefix := strings.Join(pods, ", ") + ": "
		if !strings.HasPrefix(problems[0], prefix) || !strings.Contains(problems[0], "readiness") {
			return fmt.Sprintf("problems %q, want one line %q followed by a readiness reason", problems, prefix)
		}
		return ""
	})
	t.Logf("pods %v", pods)

	// Kubernetes gives up on it after progressDeadlineSeconds; it never completes.
	var p Progress
	eventually(t, 30*time.Second, "the rollout stalls (ProgressDeadlineExceeded)", func() string {
		p, err = e.c.Progress(e.ctx, "stuck", "stuck")
		if err != nil {
			return err.Error()
		}
		if p.Complete() {
			t.Fatalf("a rollout whose pods are never Ready completed: %+v", p)
		}
		if p.Stalled == "" {
			return fmt.Sprintf("not stalled: %v", p)
		}
		return ""
	})
	if p.Release != 3 || p.Ready != 0 || p.Available != 0 || p.Wanted != 2 {
		t.Errorf("stalled progress %+v, want release 3, 2 wanted, none ready or available", p)
	}
	t.Logf("stalled: %s", p.Stalled)

	// The other releases and sets of the app have no problems to report.
	e.wantNoProblems("stuck", &s, 0, 2, "release 2 (no pods)")
	e.wantNoProblems("stuck", &s, 3, 3, "set v3 (no pods)")
}

// wantNoProblems checks that PodProblems reports nothing for the pods of
// release in set of app (what says which pods those are).
func (e *clusterEnv) wantNoProblems(app string, s *spec.Spec, set, release int, what string) {
	e.t.Helper()
	if problems, err := e.c.PodProblems(e.ctx, app, s, set, release); err != nil || len(problems) != 0 {
		e.t.Errorf("PodProblems of %s = %q, %v; want none", what, problems, err)
	}
}

func TestPodProblems_APodNoNodeCanTakeIsNotScheduled(t *testing.T) {
	t.Parallel()
	e := newClusterEnv(t)
	// The nodes have 32 CPUs each.
	s := kubeSpec(t, "resources:\n  requests: {cpu: \"64\"}\n", "")
	e.deploy(workload("huge", 1, 0, 1, s))
	eventually(t, 20*time.Second, "the pod reported not scheduled", func() string {
		problems, err := e.c.PodProblems(e.ctx, "huge", &s, 0, 1)
		if err != nil {
			return err.Error()
		}
		if len(problems) != 1 || !strings.Contains(problems[0], ": not scheduled: Unschedulable") || !strings.Contains(problems[0], "cpu") {
			return fmt.Sprintf("problems %q, want the pod not scheduled for lack of cpu", problems)
		}
		return ""
	})
	if p, err := e.c.Progress(e.ctx, "huge", "huge"); err != nil || p.Complete() || p.Ready != 0 {
		t.Errorf("Progress = %+v, %v; want not complete, none ready", p, err)
	}
}

func TestPodProblems_ReadyPodsHaveNone(t *testing.T) {
	t.Parallel()
	e := newClusterEnv(t)
	s := kubeSpec(t, "", "")
	e.deploy(workload("fine", 1, 0, 2, s))
	waitComplete(e, "fine", "fine", 1, 1)
	e.wantNoProblems("fine", &s, 0, 1, "a complete rollout")
}
