package kubernetes

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// nonstop changes only what it made: an object under a name nonstop would
// use must carry its labels for the app (app.kubernetes.io/managed-by:
// nonstop and app.kubernetes.io/instance: APP), and a namespace it did not
// create must be labelled app.kubernetes.io/managed-by: nonstop by an
// administrator. So no app can take over another app's objects, or
// objects that are no app's, by naming them.

// ErrNotOurs is returned for an object that exists where nonstop would
// write, but that nonstop did not make for this app.
var ErrNotOurs = errors.New("exists and is not this app's (nonstop did not make it)")

// owned checks the result of getting kind ns/name: absent, or the app's.
func owned(kind, ns, name, app string, obj metav1.Object, err error) error {
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("get %s %s/%s: %w", kind, ns, name, err)
	}
	if l := obj.GetLabels(); l[LabelManagedBy] != "nonstop" || l[LabelInstance] != app {
		return fmt.Errorf("%s %s/%s %w: it lacks the labels %s=nonstop and %s=%s; rename the app or move that object",
			kind, ns, name, ErrNotOurs, LabelManagedBy, LabelInstance, app)
	}
	return nil
}

// ensureNamespace creates ns, labelled as nonstop's, or checks that an
// existing one is labelled so.
func (c *Cluster) ensureNamespace(ctx context.Context, ns string) error {
	got, err := c.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = c.cs.CoreV1().Namespaces().Create(ctx, namespaceObject(ns), metav1.CreateOptions{FieldManager: FieldManager})
		if apierrors.IsAlreadyExists(err) {
			return c.ensureNamespace(ctx, ns)
		}
		if err != nil {
			return fmt.Errorf("create namespace %s: %w", ns, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get namespace %s: %w", ns, err)
	}
	if got.Labels[LabelManagedBy] != "nonstop" {
		return fmt.Errorf("namespace %s %w: an administrator lets nonstop deploy there with the label %s=nonstop", ns, ErrNotOurs, LabelManagedBy)
	}
	return nil
}

func namespaceObject(ns string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{LabelManagedBy: "nonstop"}}}
}
