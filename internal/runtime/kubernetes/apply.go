package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	metaac "k8s.io/client-go/applyconfigurations/meta/v1"
	policyac "k8s.io/client-go/applyconfigurations/policy/v1"

	"github.com/nonstopdev/nonstop/internal/spec"
)

// applyOpts: nonstop owns the fields it sets, even against kubectl edits.
var applyOpts = metav1.ApplyOptions{FieldManager: FieldManager, Force: true}

// ApplySet writes everything a pod set needs, each part idempotent and
// tried again on a transient error: the namespace and the volumes'
// claims, the set's Service (created once), the disruption budget (for
// the stable set), and the Deployment. It returns the Deployment's
// generation, for its status to reach, and the Service's UID.
func (c *Cluster) ApplySet(ctx context.Context, w Workload) (generation int64, serviceUID string, err error) {
	err = withRetry(ctx, func() error {
		if err := c.Prepare(ctx, w); err != nil {
			return err
		}
		if serviceUID, err = c.EnsureService(ctx, w); err != nil {
			return err
		}
		if err := c.applyEnv(ctx, w); err != nil {
			return err
		}
		if w.Set == 0 {
			if err := c.ApplyDisruptionBudget(ctx, w.App, &w.Spec, w.Replicas); err != nil {
				return err
			}
		}
		generation, err = c.ApplyDeployment(ctx, w)
		return err
	})
	return generation, serviceUID, err
}

// Prepare makes sure what a release's pods need exists before its
// Deployment does: the namespace and the volumes' claims.
func (c *Cluster) Prepare(ctx context.Context, w Workload) error {
	ns := w.Namespace()
	if err := c.ensureNamespace(ctx, ns); err != nil {
		return err
	}
	for _, v := range w.Spec.Volumes {
		if err := c.ensureClaim(ctx, w.App, ns, v, w.Spec.Kubernetes.StorageClass); err != nil {
			return err
		}
	}
	return nil
}

// ensureClaim creates a volume's claim once. A claim is never changed
// after: a bound claim's class cannot change, and shrinking is refused.
func (c *Cluster) ensureClaim(ctx context.Context, app, ns string, v spec.Volume, class string) error {
	name := ClaimName(app, v.Name)
	size, err := resource.ParseQuantity(v.Size)
	if err != nil {
		return fmt.Errorf("volume %s: size %q: %w", v.Name, v.Size, err)
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: appLabels(app)},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
		},
	}
	if class != "" {
		pvc.Spec.StorageClassName = &class
	}
	_, err = c.cs.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{FieldManager: FieldManager})
	if apierrors.IsAlreadyExists(err) {
		got, err := c.cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		return owned("claim", ns, name, app, got, err)
	}
	if err != nil {
		return fmt.Errorf("create claim %s/%s: %w", ns, name, err)
	}
	return nil
}

// ApplyDeployment writes w's Deployment and returns its generation, which
// the Deployment's status must reach (observedGeneration) before its
// replica counts describe this change.
func (c *Cluster) ApplyDeployment(ctx context.Context, w Workload) (int64, error) {
	got, err := c.cs.AppsV1().Deployments(w.Namespace()).Get(ctx, w.Name(), metav1.GetOptions{})
	if err := owned("deployment", w.Namespace(), w.Name(), w.App, got, err); err != nil {
		return 0, err
	}
	d, err := c.cs.AppsV1().Deployments(w.Namespace()).Apply(ctx, w.Deployment(), applyOpts)
	if err != nil {
		return 0, fmt.Errorf("apply deployment %s/%s: %w", w.Namespace(), w.Name(), err)
	}
	return d.Generation, nil
}

// EnsureService creates the Service of w's set once. A Service that
// exists is left as it is (same UID, same cluster IP, same node port):
// clients and load balancers that found it keep it across deploys.
// It returns the Service's UID.
func (c *Cluster) EnsureService(ctx context.Context, w Workload) (string, error) {
	ns, name := w.Namespace(), w.Name()
	got, err := c.cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err := owned("service", ns, name, w.App, got, err); err != nil {
		return "", err
	}
	if err == nil {
		return string(got.UID), nil
	}
	k := w.Spec.Kubernetes.Service
	port := corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}
	typ := corev1.ServiceTypeClusterIP
	if w.Set == 0 {
		// Only the stable Service is exposed as the spec says; a
		// release's own Service is for routing, inside the cluster.
		typ = corev1.ServiceType(k.Type)
		port.NodePort = int32(k.NodePort)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: appLabels(w.App)},
		Spec:       corev1.ServiceSpec{Type: typ, Selector: selector(w.App, w.Set), Ports: []corev1.ServicePort{port}},
	}
	svc.Labels[LabelSet] = SetLabel(w.Set)
	created, err := c.cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{FieldManager: FieldManager})
	if apierrors.IsAlreadyExists(err) {
		return c.EnsureService(ctx, w)
	}
	if err != nil {
		return "", fmt.Errorf("create service %s/%s: %w", ns, name, err)
	}
	return string(created.UID), nil
}

// ApplyDisruptionBudget keeps voluntary evictions (node drains, cluster
// upgrades) from taking more than one of the app's pods at a time once it
// runs 2 or more; with fewer, a budget would block every drain, so there
// is none.
func (c *Cluster) ApplyDisruptionBudget(ctx context.Context, app string, s *spec.Spec, replicas int) error {
	ns, name := Namespace(app, s), StableName(app)
	got, err := c.cs.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, name, metav1.GetOptions{})
	if err := owned("disruption budget", ns, name, app, got, err); err != nil {
		return err
	}
	if replicas < 2 {
		err := c.cs.PolicyV1().PodDisruptionBudgets(ns).Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete disruption budget %s/%s: %w", ns, name, err)
		}
		return nil
	}
	pdb := policyac.PodDisruptionBudget(name, ns).
		WithLabels(appLabels(app)).
		WithSpec(policyac.PodDisruptionBudgetSpec().
			WithMaxUnavailable(intstr.FromInt32(1)).
			WithSelector(metaac.LabelSelector().WithMatchLabels(map[string]string{LabelInstance: app})))
	if _, err := c.cs.PolicyV1().PodDisruptionBudgets(ns).Apply(ctx, pdb, applyOpts); err != nil {
		return fmt.Errorf("apply disruption budget %s/%s: %w", ns, name, err)
	}
	return nil
}

// DeleteSet removes release's own Deployment and Service (a canary or
// blue-green set that is over). Gone already is fine.
func (c *Cluster) DeleteSet(ctx context.Context, app string, s *spec.Spec, release int) error {
	return withRetry(ctx, func() error {
		ns, name := Namespace(app, s), SetName(app, release)
		d, err := c.cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err := owned("deployment", ns, name, app, d, err); err != nil {
			return err
		}
		svc, err := c.cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err := owned("service", ns, name, app, svc, err); err != nil {
			return err
		}
		bg := metav1.DeletePropagationBackground
		if err := c.cs.AppsV1().Deployments(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete deployment %s/%s: %w", ns, name, err)
		}
		if err := c.cs.CoreV1().Services(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete service %s/%s: %w", ns, name, err)
		}
		return nil
	})
}

// Sets lists the releases that have a set of their own in the app's
// namespace (canary or blue-green sets not cleaned up yet).
func (c *Cluster) Sets(ctx context.Context, app string, s *spec.Spec) ([]int, error) {
	ns := Namespace(app, s)
	list, err := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelInstance + "=" + app + "," + LabelManagedBy + "=nonstop"})
	if err != nil {
		return nil, fmt.Errorf("list deployments in %s: %w", ns, err)
	}
	var out []int
	for _, d := range list.Items {
		if d.Name == StableName(app) {
			continue
		}
		var rel int
		if _, err := fmt.Sscanf(d.Annotations[AnnotationRelease], "%d", &rel); err == nil && rel > 0 {
			out = append(out, rel)
		}
	}
	return out, nil
}

// SelectSet points the app's stable Service at a release's own set (0:
// back at the stable Deployment): a blue-green switch without a Gateway.
// The Service is patched, never re-created: its UID, cluster IP and node
// port stay.
func (c *Cluster) SelectSet(ctx context.Context, app string, s *spec.Spec, release int) error {
	return withRetry(ctx, func() error {
		ns, name := Namespace(app, s), StableName(app)
		got, err := c.cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil // no Service yet (a first deploy that failed): nothing to point
		}
		if err := owned("service", ns, name, app, got, err); err != nil {
			return err
		}
		patch, err := json.Marshal(map[string]any{"spec": map[string]any{"selector": selector(app, release)}})
		if err != nil {
			return err
		}
		_, err = c.cs.CoreV1().Services(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
		if apierrors.IsNotFound(err) {
			return nil // no Service yet (a first deploy that failed): nothing to point
		}
		if err != nil {
			return fmt.Errorf("point service %s/%s at %s: %w", ns, name, SetLabel(release), err)
		}
		return nil
	})
}

// ServiceSet is the set the app's stable Service selects, and its UID.
func (c *Cluster) ServiceSet(ctx context.Context, app string, s *spec.Spec) (set, uid string, err error) {
	ns, name := Namespace(app, s), StableName(app)
	svc, err := c.cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", "", fmt.Errorf("get service %s/%s: %w", ns, name, err)
	}
	return svc.Spec.Selector[LabelSet], string(svc.UID), nil
}

// DeleteApp removes what nonstop made for an app: its Deployments, env
// Secrets, Services, disruption budget and HTTPRoute. The volumes' claims stay
// (they hold data; delete them with kubectl), and so does the namespace.
func (c *Cluster) DeleteApp(ctx context.Context, app string, s *spec.Spec) error {
	ns := Namespace(app, s)
	sel := metav1.ListOptions{LabelSelector: LabelInstance + "=" + app + "," + LabelManagedBy + "=nonstop"}
	bg := metav1.DeletePropagationBackground
	if err := c.cs.AppsV1().Deployments(ns).DeleteCollection(ctx, metav1.DeleteOptions{PropagationPolicy: &bg}, sel); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete deployments of %s in %s: %w", app, ns, err)
	}
	if err := c.cs.CoreV1().Secrets(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete env secrets of %s in %s: %w", app, ns, err)
	}
	svcs, err := c.cs.CoreV1().Services(ns).List(ctx, sel)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("list services of %s in %s: %w", app, ns, err)
	}
	if svcs != nil {
		for _, svc := range svcs.Items {
			if err := c.cs.CoreV1().Services(ns).Delete(ctx, svc.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("delete service %s/%s: %w", ns, svc.Name, err)
			}
		}
	}
	pdb, err := c.cs.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, StableName(app), metav1.GetOptions{})
	if err := owned("disruption budget", ns, app, app, pdb, err); err != nil {
		return err
	}
	if err := c.cs.PolicyV1().PodDisruptionBudgets(ns).Delete(ctx, StableName(app), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete disruption budget %s/%s: %w", ns, app, err)
	}
	route, err := c.dyn.Resource(httpRoutes).Namespace(ns).Get(ctx, StableName(app), metav1.GetOptions{})
	if err := owned("httproute", ns, app, app, route, err); err != nil {
		return err
	}
	if err := c.dyn.Resource(httpRoutes).Namespace(ns).Delete(ctx, StableName(app), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete httproute %s/%s: %w", ns, app, err)
	}
	return nil
}

// applyEnv writes the release's env Secret (none for a release without
// variables). nonstop never reads a Secret: it creates it, or, when one
// exists under that name, patches its data with a JSON Patch whose first
// operations test that it carries nonstop's labels for this app, so a
// Secret that is not the app's is refused, not overwritten. A key someone
// else added reaches no pod: each variable names its key.
func (c *Cluster) applyEnv(ctx context.Context, w Workload) error {
	keys := w.appEnvKeys(nil)
	if len(keys) == 0 {
		return nil
	}
	ns, name := w.Namespace(), w.EnvSecret()
	data := map[string][]byte{}
	for _, k := range keys {
		data[k] = []byte(w.Env[k])
	}
	labels := appLabels(w.App)
	labels[LabelVersion] = SetLabelVersion(w.Release)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}, Type: corev1.SecretTypeOpaque, Data: data}
	_, err := c.cs.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{FieldManager: FieldManager})
	if !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return fmt.Errorf("create env secret %s/%s: %w", ns, name, err)
		}
		return nil
	}
	patch, err := json.Marshal([]map[string]any{
		{"op": "test", "path": "/metadata/labels/" + jsonPointer(LabelManagedBy), "value": "nonstop"},
		{"op": "test", "path": "/metadata/labels/" + jsonPointer(LabelInstance), "value": w.App},
		{"op": "replace", "path": "/data", "value": data},
	})
	if err != nil {
		return err
	}
	_, err = c.cs.CoreV1().Secrets(ns).Patch(ctx, name, types.JSONPatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
	if apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || isUnprocessable(err) {
		return fmt.Errorf("secret %s/%s %w: it lacks the labels %s=nonstop and %s=%s", ns, name, ErrNotOurs, LabelManagedBy, LabelInstance, w.App)
	}
	if err != nil {
		return fmt.Errorf("patch env secret %s/%s: %w", ns, name, err)
	}
	return nil
}

// jsonPointer escapes a key for a JSON Pointer (RFC 6901).
func jsonPointer(key string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(key)
}

// isUnprocessable: a JSON Patch whose test failed is answered 422.
func isUnprocessable(err error) bool {
	var status apierrors.APIStatus
	return errors.As(err, &status) && status.Status().Code == http.StatusUnprocessableEntity
}

// DeleteEnv removes the env Secrets of the app's releases named (old
// ones, which no rollback returns to any more). It selects them by
// nonstop's labels, so a Secret that is not the app's is never deleted.
func (c *Cluster) DeleteEnv(ctx context.Context, app string, s *spec.Spec, releases []int) error {
	if len(releases) == 0 {
		return nil
	}
	ns := Namespace(app, s)
	versions := make([]string, len(releases))
	for i, v := range releases {
		versions[i] = SetLabelVersion(v)
	}
	sel := fmt.Sprintf("%s=%s,%s=nonstop,%s in (%s)", LabelInstance, app, LabelManagedBy, LabelVersion, strings.Join(versions, ","))
	err := withRetry(ctx, func() error {
		return c.cs.CoreV1().Secrets(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: sel})
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete old env secrets of %s in %s: %w", app, ns, err)
	}
	return nil
}
