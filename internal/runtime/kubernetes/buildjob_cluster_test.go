package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// buildNamespace creates namespace ns for a build (a deploy's Prepare
// does it for apps).
func (e *clusterEnv) buildNamespace(ns string) {
	e.t.Helper()
	if _, err := e.cs.CoreV1().Namespaces().Create(e.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func TestBuild_RunsOnABuildNodeKeepsTheTokenInASecretAndCancelRemovesIt(t *testing.T) {
	t.Parallel()
	e := newClusterEnv(t)
	e.buildNamespace("builds")
	const token = "tok-3f9a1c0e5b7d"
	b := BuildJob{App: "img", Namespace: "builds", Build: 7, Destination: "registry.test/img:7",
		SourceURL: "http://nonstop.test/builds/7/source.tar.gz", SourceToken: token, Timeout: time.Minute}
	if err := e.c.StartBuild(e.ctx, b); err != nil {
		t.Fatal(err)
	}

	job, err := e.cs.BatchV1().Jobs("builds").Get(e.ctx, "img-build-7", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the build Job: %v", err)
	}
	jobJSON, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(jobJSON), token) {
		t.Errorf("the token is in the Job: %s", jobJSON)
	}
	secret, err := e.cs.CoreV1().Secrets("builds").Get(e.ctx, "img-build-7", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the token's Secret: %v", err)
	}
	if got := string(secret.Data["token"]); got != token {
		t.Errorf("Secret token = %q, want %q", got, token)
	}
	var fromSecret bool
	for _, env := range job.Spec.Template.Spec.InitContainers[0].Env {
		if r := env.ValueFrom; env.Name == "NONSTOP_BUILD_TOKEN" && r != nil && r.SecretKeyRef != nil &&
			r.SecretKeyRef.Name == "img-build-7" && r.SecretKeyRef.Key == "token" {
			fromSecret = true
		}
	}
	if !fromSecret {
		t.Errorf("the fetch container does not read NONSTOP_BUILD_TOKEN from the Secret: %+v", job.Spec.Template.Spec.InitContainers[0].Env)
	}

	// Restarted, nonstop starts the same build again: the Job is kept.
	if err := e.c.StartBuild(e.ctx, b); err != nil {
		t.Errorf("StartBuild again: %v, want nil", err)
	}
	if again, err := e.cs.BatchV1().Jobs("builds").Get(e.ctx, "img-build-7", metav1.GetOptions{}); err != nil || again.UID != job.UID {
		t.Errorf("after StartBuild again: Job %v, %v; want the first one (UID %s)", again.UID, err, job.UID)
	}

	// kwok completes the pod but writes no termination message: no digest.
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	digest, err := e.c.WaitBuild(ctx, b)
	if !errors.Is(err, ErrNoDigest) {
		t.Errorf("WaitBuild = %q, %v; want ErrNoDigest", digest, err)
	}
	pods, err := e.cs.CoreV1().Pods("builds").List(e.ctx, metav1.ListOptions{LabelSelector: "job-name=img-build-7"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 {
		t.Fatalf("%d build pods, want 1", len(pods.Items))
	}
	if p := pods.Items[0]; p.Spec.NodeName != "kwok-node-0" || p.Status.Phase != corev1.PodSucceeded {
		t.Errorf("build pod %s on %q, %s; want on kwok-node-0 (the build node), Succeeded", p.Name, p.Spec.NodeName, p.Status.Phase)
	}

	if err := e.c.CancelBuild(e.ctx, b); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the build's Job and Secret deleted", func() string {
		_, err := e.cs.BatchV1().Jobs("builds").Get(e.ctx, "img-build-7", metav1.GetOptions{})
		if msg := gone(err); msg != "" {
			return "Job " + msg
		}
		_, err = e.cs.CoreV1().Secrets("builds").Get(e.ctx, "img-build-7", metav1.GetOptions{})
		if msg := gone(err); msg != "" {
			return "Secret " + msg
		}
		return ""
	})
	if err := e.c.CancelBuild(e.ctx, b); err != nil {
		t.Errorf("CancelBuild again: %v, want nil", err)
	}
}

func TestWaitBuild_ABuildNoNodeCanRunWaitsUntilTheContextEnds(t *testing.T) {
	t.Parallel()
	e := newClusterEnv(t)
	e.buildNamespace("builds-gpu")
	// No node is labelled nonstop.dev/build-gpu=true.
	b := BuildJob{App: "gpu", Namespace: "builds-gpu", Build: 1, Destination: "registry.test/gpu:1",
		SourceURL: "http://nonstop.test/builds/1/source.tar.gz", SourceToken: "t", Labels: []string{"gpu"}}
	if err := e.c.StartBuild(e.ctx, b); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the build pod reported unschedulable", func() string {
		pods, err := e.cs.CoreV1().Pods("builds-gpu").List(e.ctx, metav1.ListOptions{LabelSelector: "job-name=gpu-build-1"})
		if err != nil {
			return err.Error()
		}
		if len(pods.Items) != 1 {
			return fmt.Sprintf("%d pods", len(pods.Items))
		}
		p := pods.Items[0]
		if want := map[string]string{LabelBuildNode: "true", "nonstop.dev/build-gpu": "true"}; fmt.Sprint(p.Spec.NodeSelector) != fmt.Sprint(want) {
			t.Fatalf("node selector %v, want %v", p.Spec.NodeSelector, want)
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				if p.Spec.NodeName != "" {
					return "scheduled on " + p.Spec.NodeName
				}
				return ""
			}
		}
		return fmt.Sprintf("conditions %v", p.Status.Conditions)
	})
	// (The error is the context's, or the client's saying the deadline
	// is too near for one more request.)
	ctx, cancel := context.WithTimeout(e.ctx, 2*time.Second)
	defer cancel()
	start := time.Now()
	digest, err := e.c.WaitBuild(ctx, b)
	if took := time.Since(start); err == nil || errors.Is(err, ErrNoDigest) || took < 1900*time.Millisecond || took > 3*time.Second {
		t.Errorf("WaitBuild of a build that cannot run = %q, %v after %v; want an error once the context's 2 s are over", digest, err, took)
	}
	if err := e.c.CancelBuild(e.ctx, b); err != nil {
		t.Fatal(err)
	}
}

func TestWaitBuild_AFailedBuildSaysWhy(t *testing.T) {
	t.Parallel()
	e := newClusterEnv(t)
	e.buildNamespace("builds-late")
	// It cannot run (no node has the label) and its deadline is 1 s.
	b := BuildJob{App: "late", Namespace: "builds-late", Build: 2, Destination: "registry.test/late:2",
		SourceURL: "http://nonstop.test/builds/2/source.tar.gz", SourceToken: "t", Labels: []string{"gpu"}, Timeout: time.Second}
	if err := e.c.StartBuild(e.ctx, b); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	digest, err := e.c.WaitBuild(ctx, b)
	if err == nil || errors.Is(err, ErrNoDigest) || errors.Is(err, context.DeadlineExceeded) ||
		!strings.Contains(err.Error(), "late-build-2 failed") || !strings.Contains(err.Error(), "DeadlineExceeded") {
		t.Errorf("WaitBuild = %q, %v; want an error saying the Job failed and why (DeadlineExceeded)", digest, err)
	}
	if err := e.c.CancelBuild(e.ctx, b); err != nil {
		t.Fatal(err)
	}
}
