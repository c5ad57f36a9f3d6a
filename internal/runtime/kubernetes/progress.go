package kubernetes

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/nonstopdev/nonstop/internal/spec"
)

// Progress is where a Deployment's rollout stands, from its status.
type Progress struct {
	Found bool
	// Release is the release its pod template runs.
	Release int
	// Generation is the Deployment's; ObservedGeneration, the one the
	// controller has acted on: counts describe older changes until they
	// are equal.
	Generation, ObservedGeneration              int64
	Wanted, Replicas, Updated, Ready, Available int32
	// Stalled is Kubernetes' verdict (ProgressDeadlineExceeded) on the
	// template nonstop applied last, with its message.
	Stalled string
	// ReplicaFailure says why pods could not even be created (a quota,
	// an admission policy), "" when they could.
	ReplicaFailure string
}

// Complete reports whether every wanted pod runs the latest template, is
// available, and no old pod is left.
func (p Progress) Complete() bool {
	return p.Found && p.ObservedGeneration >= p.Generation &&
		p.Updated == p.Wanted && p.Replicas == p.Wanted && p.Available == p.Wanted && p.Ready >= p.Wanted
}

func (p Progress) String() string {
	return fmt.Sprintf("%d/%d updated, %d ready, %d available, %d pods", p.Updated, p.Wanted, p.Ready, p.Available, p.Replicas)
}

// Progress reads the rollout state of the Deployment name in ns.
func (c *Cluster) Progress(ctx context.Context, ns, name string) (Progress, error) {
	d, err := c.cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Progress{}, nil
	}
	if err != nil {
		return Progress{}, fmt.Errorf("get deployment %s/%s: %w", ns, name, err)
	}
	return progressOf(d), nil
}

func progressOf(d *appsv1.Deployment) Progress {
	p := Progress{
		Found:              true,
		Generation:         d.Generation,
		ObservedGeneration: d.Status.ObservedGeneration,
		Wanted:             1,
		Replicas:           d.Status.Replicas,
		Updated:            d.Status.UpdatedReplicas,
		Ready:              d.Status.ReadyReplicas,
		Available:          d.Status.AvailableReplicas,
	}
	if d.Spec.Replicas != nil {
		p.Wanted = *d.Spec.Replicas
	}
	p.Release, _ = strconv.Atoi(d.Spec.Template.Annotations[AnnotationRelease])
	// When nonstop last changed the Deployment, by the API server's clock.
	// A verdict from before is about an older template: rolling back to a
	// ReplicaSet that exists does not clear it.
	var applied time.Time
	for _, mf := range d.ManagedFields {
		if mf.Manager == FieldManager && mf.Operation == metav1.ManagedFieldsOperationApply && mf.Time != nil && mf.Time.After(applied) {
			applied = mf.Time.Time
		}
	}
	for _, cond := range d.Status.Conditions {
		switch {
		case cond.Type == appsv1.DeploymentProgressing && cond.Status == corev1.ConditionFalse && cond.Reason == "ProgressDeadlineExceeded":
			if cond.LastUpdateTime.Time.After(applied) {
				p.Stalled = cond.Message
			}
		case cond.Type == appsv1.DeploymentReplicaFailure && cond.Status == corev1.ConditionTrue:
			p.ReplicaFailure = cond.Reason + ": " + cond.Message
		}
	}
	return p
}

// StableRelease is the release the app's stable Deployment runs (0: none).
func (c *Cluster) StableRelease(ctx context.Context, app string, s *spec.Spec) (int, error) {
	p, err := c.Progress(ctx, Namespace(app, s), StableName(app))
	return p.Release, err
}

// PodProblems names the pods of an app's release that are not Ready, and
// why: each line is "POD[, POD...]: REASON", pods with the same reason
// together. The pods of set (0: stable) are read.
func (c *Cluster) PodProblems(ctx context.Context, app string, s *spec.Spec, set, release int) ([]string, error) {
	ns := Namespace(app, s)
	sel := labels.SelectorFromSet(map[string]string{LabelInstance: app, LabelSet: SetLabel(set), LabelVersion: SetLabelVersion(release)})
	pods, err := c.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("list pods of v%d in %s: %w", release, ns, err)
	}
	byReason := map[string][]string{}
	for _, p := range pods.Items {
		if why := podProblem(&p); why != "" {
			byReason[why] = append(byReason[why], p.Name)
		}
	}
	var out []string
	for why, names := range byReason {
		slices.Sort(names)
		out = append(out, strings.Join(names, ", ")+": "+why)
	}
	slices.Sort(out)
	return out, nil
}

// podProblem says why a pod is not Ready ("" when it is).
func podProblem(p *corev1.Pod) string {
	if p.DeletionTimestamp != nil {
		return ""
	}
	var why []string
	for _, cs := range p.Status.ContainerStatuses {
		switch {
		case cs.State.Waiting != nil:
			why = append(why, fmt.Sprintf("container %s waiting: %s %s", cs.Name, cs.State.Waiting.Reason, cs.State.Waiting.Message))
		case cs.State.Terminated != nil:
			why = append(why, fmt.Sprintf("container %s exited with code %d: %s", cs.Name, cs.State.Terminated.ExitCode, cs.State.Terminated.Reason))
		case cs.RestartCount > 0 && cs.LastTerminationState.Terminated != nil:
			why = append(why, fmt.Sprintf("container %s restarted %d times, last exit code %d", cs.Name, cs.RestartCount, cs.LastTerminationState.Terminated.ExitCode))
		}
	}
	ready := false
	for _, cond := range p.Status.Conditions {
		switch {
		case cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue:
			ready = true
		case cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse:
			why = append(why, fmt.Sprintf("not scheduled: %s %s", cond.Reason, cond.Message))
		case cond.Type == corev1.PodReady && cond.Status == corev1.ConditionFalse:
			why = append(why, strings.TrimSpace("readiness probe failing: "+cond.Reason+" "+cond.Message))
		}
	}
	if ready {
		return ""
	}
	if len(why) == 0 {
		why = append(why, "phase "+string(p.Status.Phase))
	}
	return strings.Join(why, "; ")
}
