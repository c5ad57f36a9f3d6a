package kubernetes

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nonstopdev/nonstop/internal/spec"
)

func TestEnsureService_CreatesTheServiceOnceAndNeverReplacesIt(t *testing.T) {
	t.Parallel()
	e := newClusterEnv(t)
	s := kubeSpec(t, "", "service: {type: NodePort}")
	w := workload("svc-once", 1, 0, 1, s)
	if err := e.c.Prepare(e.ctx, w); err != nil {
		t.Fatal(err)
	}

	uid, err := e.c.EnsureService(e.ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	first, err := e.cs.CoreV1().Services("svc-once").Get(e.ctx, "svc-once", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(first.UID) != uid {
		t.Errorf("EnsureService returned UID %s, the Service has %s", uid, first.UID)
	}
	if first.Spec.Type != corev1.ServiceTypeNodePort || first.Spec.Ports[0].NodePort == 0 {
		t.Errorf("stable Service: type %s, node port %d; want NodePort as the spec says, with a port the cluster picked",
			first.Spec.Type, first.Spec.Ports[0].NodePort)
	}
	if want := map[string]string{LabelInstance: "svc-once", LabelSet: "stable"}; !reflect.DeepEqual(first.Spec.Selector, want) {
		t.Errorf("stable Service selects %v, want %v", first.Spec.Selector, want)
	}
	if p := first.Spec.Ports[0]; p.Name != "http" || p.Port != 80 || p.TargetPort.String() != "http" {
		t.Errorf("port %s %d -> %s, want http 80 -> the pods' named port http", p.Name, p.Port, p.TargetPort.String())
	}

	// A second deploy: same UID, same cluster IP, same node port.
	w.Release = 2
	again, err := e.c.EnsureService(e.ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	if again != uid {
		t.Errorf("second EnsureService returned UID %s, want the first one's %s", again, uid)
	}
	second, err := e.cs.CoreV1().Services("svc-once").Get(e.ctx, "svc-once", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if second.UID != first.UID || second.Spec.ClusterIP != first.Spec.ClusterIP || second.Spec.Ports[0].NodePort != first.Spec.Ports[0].NodePort ||
		second.ResourceVersion != first.ResourceVersion {
		t.Errorf("the Service changed: UID %s -> %s, IP %s -> %s, node port %d -> %d, version %s -> %s",
			first.UID, second.UID, first.Spec.ClusterIP, second.Spec.ClusterIP,
			first.Spec.Ports[0].NodePort, second.Spec.Ports[0].NodePort, first.ResourceVersion, second.ResourceVersion)
	}
}

func TestEnsureService_AReleaseSetGetsAClusterIPServiceOfItsOwn(t *testing.T) {
	t.Parallel()
	e := newClusterEnv(t)
	s := kubeSpec(t, "", "service: {type: NodePort}")
	w := workload("svc-set", 3, 3, 1, s)
	if err := e.c.Prepare(e.ctx, w); err != nil {
		t.Fatal(err)
	}
	uid, err := e.c.EnsureService(e.ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := e.cs.CoreV1().Services("svc-set").Get(e.ctx, "svc-set-v3", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(svc.UID) != uid || svc.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("set Service %s of type %s, want UID %s, ClusterIP (only the stable Service is exposed)", svc.UID, svc.Spec.Type, uid)
	}
	if want := map[string]string{LabelInstance: "svc-set", LabelSet: "v3"}; !reflect.DeepEqual(svc.Spec.Selector, want) {
		t.Errorf("set Service selects %v, want %v", svc.Spec.Selector, want)
	}
	if svc.Labels[LabelManagedBy] != "nonstop" || svc.Labels[LabelSet] != "v3" || svc.Labels[LabelInstance] != "svc-set" {
		t.Errorf("set Service labels %v", svc.Labels)
	}
}

func TestSelectSet_PointsTheStableServiceAtAReleaseSetAndBackKeepingItsUID(t *testing.T) {
	t.Parallel()
	e := newClusterEnv(t)
	s := kubeSpec(t, "", "")
	w := workload("bg", 1, 0, 1, s)
	if err := e.c.Prepare(e.ctx, w); err != nil {
		t.Fatal(err)
	}
	uid, err := e.c.EnsureService(e.ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	check := func(wantSet string) {
		t.Helper()
		set, gotUID, err := e.c.ServiceSet(e.ctx, "bg", &s)
		if err != nil {
			t.Fatal(err)
		}
		if set != wantSet || gotUID != uid {
			t.Errorf("ServiceSet = %q, %s; want %q, %s", set, gotUID, wantSet, uid)
		}
		svc, err := e.cs.CoreV1().Services("bg").Get(e.ctx, "bg", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]string{LabelInstance: "bg", LabelSet: wantSet}; !reflect.DeepEqual(svc.Spec.Selector, want) {
			t.Errorf("the Service selects %v, want %v", svc.Spec.Selector, want)
		}
	}
	check("stable")

	if err := e.c.SelectSet(e.ctx, "bg", &s, 2); err != nil {
		t.Fatal(err)
	}
	check("v2")

	if err := e.c.SelectSet(e.ctx, "bg", &s, 0); err != nil {
		t.Fatal(err)
	}
	check("stable")
}

func TestSelectSet_WithoutAServiceDoesNothing(t *testing.T) {
	t.Parallel()
	e := newClusterEnv(t)
	s := kubeSpec(t, "", "")
	// Neither the namespace nor the Service exists (a first deploy that failed).
	if err := e.c.SelectSet(e.ctx, "bg-none", &s, 2); err != nil {
		t.Errorf("SelectSet without a Service: %v, want nil", err)
	}
	if err := e.c.Prepare(e.ctx, workload("bg-none", 1, 0, 1, s)); err != nil {
		t.Fatal(err)
	}
	if err := e.c.SelectSet(e.ctx, "bg-none", &s, 2); err != nil {
		t.Errorf("SelectSet in a namespace without the Service: %v, want nil", err)
	}
	if msg := e.serviceGone("bg-none", "bg-none"); msg != "" {
		t.Errorf("SelectSet made a Service: %s", msg)
	}
	if _, _, err := e.c.ServiceSet(e.ctx, "bg-none", &s); err == nil {
		t.Error("ServiceSet without a Service: no error")
	}
}

func TestApplyDisruptionBudget_OnlyWithTwoOrMoreReplicas(t *testing.T) {
	t.Parallel()
	e := newClusterEnv(t)
	s := kubeSpec(t, "", "")
	if err := e.c.Prepare(e.ctx, workload("pdb", 1, 0, 1, s)); err != nil {
		t.Fatal(err)
	}
	budget := func() string {
		_, err := e.cs.PolicyV1().PodDisruptionBudgets("pdb").Get(e.ctx, "pdb", metav1.GetOptions{})
		return gone(err)
	}

	if err := e.c.ApplyDisruptionBudget(e.ctx, "pdb", &s, 1); err != nil {
		t.Fatalf("1 replica, no budget yet: %v", err)
	}
	if msg := budget(); msg != "" {
		t.Errorf("1 replica: budget %s", msg)
	}

	if err := e.c.ApplyDisruptionBudget(e.ctx, "pdb", &s, 2); err != nil {
		t.Fatal(err)
	}
	pdb, err := e.cs.PolicyV1().PodDisruptionBudgets("pdb").Get(e.ctx, "pdb", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("2 replicas: %v", err)
	}
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
		t.Errorf("budget maxUnavailable %v minAvailable %v, want 1 and none", pdb.Spec.MaxUnavailable, pdb.Spec.MinAvailable)
	}
	if want := map[string]string{LabelInstance: "pdb"}; !reflect.DeepEqual(pdb.Spec.Selector.MatchLabels, want) {
		t.Errorf("budget selects %v, want every pod of the app: %v", pdb.Spec.Selector.MatchLabels, want)
	}
	if err := e.c.ApplyDisruptionBudget(e.ctx, "pdb", &s, 3); err != nil {
		t.Fatalf("3 replicas, budget there: %v", err)
	}

	if err := e.c.ApplyDisruptionBudget(e.ctx, "pdb", &s, 1); err != nil {
		t.Fatal(err)
	}
	if msg := budget(); msg != "" {
		t.Errorf("back to 1 replica: budget %s, want it deleted", msg)
	}
}

func TestPrepare_CreatesTheNamespaceAndEachVolumesClaimOnce(t *testing.T) {
	t.Parallel()
	e := newClusterEnv(t)
	volumes := "volumes:\n  - {name: data, path: /var/lib/data, size: 2Gi}\n  - {name: cache, path: /cache}\n"
	s := kubeSpec(t, volumes, "namespace: prep-ns, storage_class: manual")
	w := workload("prep", 1, 0, 1, s)
	if err := e.c.Prepare(e.ctx, w); err != nil {
		t.Fatal(err)
	}

	ns, err := e.cs.CoreV1().Namespaces().Get(e.ctx, "prep-ns", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the spec's namespace: %v", err)
	}
	if ns.Labels[LabelManagedBy] != "nonstop" {
		t.Errorf("namespace labels %v, want %s=nonstop", ns.Labels, LabelManagedBy)
	}
	for _, want := range []struct{ name, size string }{{"prep-data", "2Gi"}, {"prep-cache", "1Gi"}} {
		pvc, err := e.cs.CoreV1().PersistentVolumeClaims("prep-ns").Get(e.ctx, want.name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("claim %s: %v", want.name, err)
			continue
		}
		got := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
		if got.Cmp(resource.MustParse(want.size)) != 0 {
			t.Errorf("claim %s requests %s, want %s", want.name, got.String(), want.size)
		}
		if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "manual" {
			t.Errorf("claim %s has storage class %v, want manual", want.name, pvc.Spec.StorageClassName)
		}
		if !slices.Equal(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) {
			t.Errorf("claim %s access modes %v", want.name, pvc.Spec.AccessModes)
		}
		if pvc.Labels[LabelInstance] != "prep" || pvc.Labels[LabelManagedBy] != "nonstop" {
			t.Errorf("claim %s labels %v", want.name, pvc.Labels)
		}
	}

	// Again, for the next release, even with a bigger size: no error, and
	// the claim is left as it is.
	bigger := kubeSpec(t, "volumes:\n  - {name: data, path: /var/lib/data, size: 5Gi}\n", "namespace: prep-ns, storage_class: manual")
	if err := e.c.Prepare(e.ctx, workload("prep", 2, 0, 1, bigger)); err != nil {
		t.Fatalf("Prepare again: %v", err)
	}
	pvc, err := e.cs.CoreV1().PersistentVolumeClaims("prep-ns").Get(e.ctx, "prep-data", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; got.Cmp(resource.MustParse("2Gi")) != 0 {
		t.Errorf("after a second Prepare the claim requests %s, want the first 2Gi (claims are never changed)", got.String())
	}
}

func TestPrepare_AnUnparsableVolumeSizeIsAnError(t *testing.T) {
	t.Parallel()
	e := newClusterEnv(t)
	s := kubeSpec(t, "", "")
	s.Volumes = []spec.Volume{{Name: "data", Path: "/data", Size: "lots"}}
	err := e.c.Prepare(e.ctx, workload("prep-bad", 1, 0, 1, s))
	if err == nil || !strings.Contains(err.Error(), "data") || !strings.Contains(err.Error(), "lots") {
		t.Errorf("Prepare with size %q: %v, want an error naming the volume and the size", "lots", err)
	}
}

func TestSets_ListsTheReleaseSetsAndDeleteSetRemovesOne(t *testing.T) {
	t.Parallel()
	e := newClusterEnv(t)
	s := kubeSpec(t, "", "namespace: sets-ns")
	e.deploy(workload("sets", 1, 0, 1, s))
	e.deploy(workload("sets", 2, 2, 1, s))
	e.deploy(workload("sets", 3, 3, 1, s))
	// Another app in the same namespace: none of its sets are ours.
	e.deploy(workload("other", 5, 5, 1, kubeSpec(t, "", "namespace: sets-ns")))

	sets, err := e.c.Sets(e.ctx, "sets", &s)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(sets)
	if !slices.Equal(sets, []int{2, 3}) {
		t.Errorf("Sets = %v, want [2 3] (not the stable Deployment, not another app's)", sets)
	}

	if err := e.c.DeleteSet(e.ctx, "sets", &s, 2); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "sets-v2 deleted", func() string {
		if msg := e.deploymentGone("sets-ns", "sets-v2"); msg != "" {
			return "Deployment " + msg
		}
		if msg := e.serviceGone("sets-ns", "sets-v2"); msg != "" {
			return "Service " + msg
		}
		return ""
	})
	for _, name := range []string{"sets", "sets-v3"} {
		if msg := e.deploymentGone("sets-ns", name); msg != "still there" {
			t.Errorf("Deployment %s after deleting set 2: %s", name, msg)
		}
		if msg := e.serviceGone("sets-ns", name); msg != "still there" {
			t.Errorf("Service %s after deleting set 2: %s", name, msg)
		}
	}
	sets, err = e.c.Sets(e.ctx, "sets", &s)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sets, []int{3}) {
		t.Errorf("Sets after DeleteSet(2) = %v, want [3]", sets)
	}

	if err := e.c.DeleteSet(e.ctx, "sets", &s, 2); err != nil {
		t.Errorf("DeleteSet of a set that is gone: %v, want nil", err)
	}
	if err := e.c.DeleteSet(e.ctx, "sets", &s, 9); err != nil {
		t.Errorf("DeleteSet of a set that never was: %v, want nil", err)
	}
}

func TestSets_OfAnAppWithNothingDeployedIsEmpty(t *testing.T) {
	t.Parallel()
	e := newClusterEnv(t)
	s := kubeSpec(t, "", "")
	sets, err := e.c.Sets(e.ctx, "sets-none", &s)
	if err != nil || len(sets) != 0 {
		t.Errorf("Sets = %v, %v; want none, nil", sets, err)
	}
}

func TestDeleteApp_RemovesWhatNonstopMadeButKeepsClaimsAndOtherApps(t *testing.T) {
	t.Parallel()
	e := newClusterEnv(t)
	s := kubeSpec(t, "volumes:\n  - {name: data, path: /data}\n", "namespace: shop, gateway: {name: gw}")
	e.deploy(workload("cart", 1, 0, 2, s))
	e.deploy(workload("cart", 2, 2, 1, s))
	if err := e.c.ApplyDisruptionBudget(e.ctx, "cart", &s, 2); err != nil {
		t.Fatal(err)
	}
	if err := e.c.ApplyRoute(e.ctx, "cart", &s, []Backend{{"cart", 90}, {"cart-v2", 10}}); err != nil {
		t.Fatal(err)
	}
	// Another app in the namespace, with a name cart's could be mistaken for.
	other := kubeSpec(t, "", "namespace: shop")
	e.deploy(workload("cart-admin", 1, 0, 2, other))
	if err := e.c.ApplyDisruptionBudget(e.ctx, "cart-admin", &other, 2); err != nil {
		t.Fatal(err)
	}

	if err := e.c.DeleteApp(e.ctx, "cart", &s); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "cart's objects deleted", func() string {
		for _, name := range []string{"cart", "cart-v2"} {
			if msg := e.deploymentGone("shop", name); msg != "" {
				return "Deployment " + name + " " + msg
			}
			if msg := e.serviceGone("shop", name); msg != "" {
				return "Service " + name + " " + msg
			}
		}
		_, err := e.cs.PolicyV1().PodDisruptionBudgets("shop").Get(e.ctx, "cart", metav1.GetOptions{})
		if msg := gone(err); msg != "" {
			return "budget " + msg
		}
		_, err = e.dyn.Resource(httpRoutes).Namespace("shop").Get(e.ctx, "cart", metav1.GetOptions{})
		if msg := gone(err); msg != "" {
			return "HTTPRoute " + msg
		}
		return ""
	})
	if w, err := e.c.RouteWeights(e.ctx, "cart", &s); err != nil || w != nil {
		t.Errorf("RouteWeights after DeleteApp = %v, %v; want nil, nil", w, err)
	}
	if _, err := e.cs.CoreV1().PersistentVolumeClaims("shop").Get(e.ctx, "cart-data", metav1.GetOptions{}); err != nil {
		t.Errorf("the claim cart-data: %v, want it kept", err)
	}
	if _, err := e.cs.CoreV1().Namespaces().Get(e.ctx, "shop", metav1.GetOptions{}); err != nil {
		t.Errorf("the namespace: %v, want it kept", err)
	}
	if msg := e.deploymentGone("shop", "cart-admin"); msg != "still there" {
		t.Errorf("the other app's Deployment: %s", msg)
	}
	if msg := e.serviceGone("shop", "cart-admin"); msg != "still there" {
		t.Errorf("the other app's Service: %s", msg)
	}
	if _, err := e.cs.PolicyV1().PodDisruptionBudgets("shop").Get(e.ctx, "cart-admin", metav1.GetOptions{}); err != nil {
		t.Errorf("the other app's budget: %v", err)
	}

	if err := e.c.DeleteApp(e.ctx, "cart", &s); err != nil {
		t.Errorf("DeleteApp again: %v, want nil", err)
	}
	if err := e.c.DeleteApp(e.ctx, "never-deployed", nil); err != nil {
		t.Errorf("DeleteApp of an app without a namespace: %v, want nil", err)
	}
}
