package kubernetes

import (
	"errors"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestEnvSecret_OnePerReleaseWrittenOnlyIfOursAndPrunedByLabel(t *testing.T) {
	e := newClusterEnv(t)
	s := kubeSpec(t, "", "")
	for v := 1; v <= 3; v++ {
		w := workload("envs", v, 0, 1, s)
		w.Env = map[string]string{"TOKEN": fmt.Sprintf("t%d", v)}
		if err := e.c.Prepare(e.ctx, w); err != nil {
			t.Fatal(err)
		}
		if err := e.c.applyEnv(e.ctx, w); err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		// Again (a resumed rollout): the same Secret, patched in place.
		if err := e.c.applyEnv(e.ctx, w); err != nil {
			t.Fatalf("v%d again: %v", v, err)
		}
	}
	got, err := e.cs.CoreV1().Secrets("envs").Get(e.ctx, "envs-env-v2", metav1.GetOptions{})
	if err != nil || string(got.Data["TOKEN"]) != "t2" || got.Labels[LabelVersion] != "v2" {
		t.Fatalf("envs-env-v2: %v %v %q", err, got.Labels, got.Data["TOKEN"])
	}
	// A release without variables has no Secret.
	if err := e.c.applyEnv(e.ctx, workload("envs", 4, 0, 1, s)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cs.CoreV1().Secrets("envs").Get(e.ctx, "envs-env-v4", metav1.GetOptions{}); err == nil {
		t.Errorf("a release without variables got an env Secret")
	}

	// A Secret of that name that is not the app's is refused, not changed.
	other := workload("envs", 7, 0, 1, s)
	other.Env = map[string]string{"TOKEN": "ours"}
	if _, err := e.cs.CoreV1().Secrets("envs").Create(e.ctx, secretNamed("envs", "envs-env-v7", "theirs"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.applyEnv(e.ctx, other); !errors.Is(err, ErrNotOurs) {
		t.Errorf("over a foreign Secret: %v, want ErrNotOurs", err)
	}
	if got, _ := e.cs.CoreV1().Secrets("envs").Get(e.ctx, "envs-env-v7", metav1.GetOptions{}); string(got.Data["TOKEN"]) != "theirs" {
		t.Errorf("the foreign Secret was changed: %q", got.Data["TOKEN"])
	}

	// Pruning v1 and v7 removes nonstop's v1 only.
	if err := e.c.DeleteEnv(e.ctx, "envs", &s, []int{1, 7}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"envs-env-v1": false, "envs-env-v2": true, "envs-env-v3": true, "envs-env-v7": true} {
		_, err := e.cs.CoreV1().Secrets("envs").Get(e.ctx, name, metav1.GetOptions{})
		if (err == nil) != want {
			t.Errorf("after pruning v1 and v7: %s exists = %v, want %v", name, err == nil, want)
		}
	}
}

// secretNamed is a Secret someone else made: no nonstop labels.
func secretNamed(ns, name, token string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: map[string][]byte{"TOKEN": []byte(token)}}
}
