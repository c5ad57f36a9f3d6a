package kubernetes

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsac "k8s.io/client-go/applyconfigurations/apps/v1"
	coreac "k8s.io/client-go/applyconfigurations/core/v1"
	metaac "k8s.io/client-go/applyconfigurations/meta/v1"

	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/spec"
)

// DefaultPort is the port an app listens on when its spec names none.
const DefaultPort = 8080

// Workload is one release of an app as a set of pods: the app's stable
// Deployment (Set 0), or a release's own set during a canary or a
// blue-green rollout (Set = the release).
type Workload struct {
	App      string
	Release  int
	Set      int
	Image    string // pinned: REGISTRY/APP@sha256:...
	Env      map[string]string
	Replicas int
	Spec     spec.Spec // health, deploy, resources, volumes and the kubernetes section
}

// Namespace is where the app's objects live: the spec's, else the app's name.
func (w Workload) Namespace() string { return Namespace(w.App, &w.Spec) }

// Namespace is app's namespace under s.
func Namespace(app string, s *spec.Spec) string {
	if s != nil && s.Kubernetes.Namespace != "" {
		return s.Kubernetes.Namespace
	}
	return app
}

// Name is the Workload's Deployment name.
func (w Workload) Name() string {
	if w.Set == 0 {
		return StableName(w.App)
	}
	return SetName(w.App, w.Set)
}

func (w Workload) port() int32 {
	if w.Spec.Port > 0 {
		return int32(w.Spec.Port)
	}
	return DefaultPort
}

// seconds rounds d up to whole seconds, as Kubernetes counts them.
func seconds(d time.Duration) int32 {
	return int32(math.Ceil(d.Seconds()))
}

// Deployment is the Workload's Deployment, with the zero-downtime settings
// derived from the spec (docs/kubernetes.md explains each):
//   - a readiness probe from health: a pod gets traffic only once it answers;
//   - maxUnavailable from deploy (0 by default: never fewer ready pods than
//     wanted) and maxSurge from deploy;
//   - minReadySeconds: a pod must stay Ready that long to count as available;
//   - progressDeadlineSeconds from health.start_timeout;
//   - a preStop sleep, so a terminating pod serves on until every proxy has
//     seen it leave the endpoints, and terminationGracePeriodSeconds of
//     preStop + drain_timeout, so in-flight requests finish after SIGTERM;
//   - topology spread across nodes, resources from the spec, the volumes'
//     claims mounted.
func (w Workload) Deployment() *appsac.DeploymentApplyConfiguration {
	s := w.Spec
	labels := appLabels(w.App)
	labels[LabelVersion] = SetLabelVersion(w.Release)
	labels[LabelSet] = SetLabel(w.Set)
	podLabels := maps.Clone(s.Kubernetes.Labels)
	if podLabels == nil {
		podLabels = map[string]string{}
	}
	maps.Copy(podLabels, labels)
	release := strconv.Itoa(w.Release)

	progress := ProgressDeadline(s)
	return appsac.Deployment(w.Name(), w.Namespace()).
		WithLabels(labels).
		WithAnnotations(map[string]string{AnnotationRelease: release}).
		WithSpec(appsac.DeploymentSpec().
			WithReplicas(int32(w.Replicas)).
			WithSelector(metaac.LabelSelector().WithMatchLabels(selector(w.App, w.Set))).
			WithMinReadySeconds(seconds(s.Kubernetes.MinReady)).
			WithProgressDeadlineSeconds(progress).
			WithRevisionHistoryLimit(5).
			WithStrategy(appsac.DeploymentStrategy().
				WithType("RollingUpdate").
				WithRollingUpdate(appsac.RollingUpdateDeployment().
					WithMaxSurge(intstr.FromInt32(int32(s.Deploy.MaxSurge))).
					WithMaxUnavailable(intstr.FromInt32(int32(s.Deploy.MaxUnavailable))))).
			WithTemplate(coreac.PodTemplateSpec().
				WithLabels(podLabels).
				WithAnnotations(map[string]string{AnnotationRelease: release}).
				WithSpec(w.podSpec())))
}

// ProgressDeadline is how long a rollout may go without progress: the
// start timeout, plus min_ready, which a new pod must wait out before it
// counts as available. It is the Deployment's progressDeadlineSeconds and
// the rollout engine's own deadline, so that both say the same.
func ProgressDeadline(s spec.Spec) int32 {
	return seconds(s.Health.StartTimeout) + seconds(s.Kubernetes.MinReady)
}

// SetLabelVersion is the app.kubernetes.io/version value of a release.
func SetLabelVersion(release int) string { return fmt.Sprintf("v%d", release) }

func (w Workload) podSpec() *coreac.PodSpecApplyConfiguration {
	s := w.Spec
	h := s.Health
	preStop := seconds(s.Kubernetes.PreStop)
	c := coreac.Container().
		WithName("app").
		WithImage(w.Image).
		WithPorts(coreac.ContainerPort().WithName("http").WithContainerPort(w.port()).WithProtocol(corev1.ProtocolTCP)).
		WithEnv(w.env()...).
		WithReadinessProbe(coreac.Probe().
			WithHTTPGet(coreac.HTTPGetAction().WithPath(h.Path).WithPort(intstr.FromString("http"))).
			WithPeriodSeconds(max(1, seconds(h.Interval))).
			WithTimeoutSeconds(max(1, seconds(h.Timeout))).
			WithSuccessThreshold(int32(max(1, h.HealthyThreshold))).
			WithFailureThreshold(int32(max(1, h.UnhealthyThreshold))))
	if preStop > 0 {
		c.WithLifecycle(coreac.Lifecycle().WithPreStop(coreac.LifecycleHandler().
			WithSleep(coreac.SleepAction().WithSeconds(int64(preStop)))))
	}
	if res := resources(s.Resources); res != nil {
		c.WithResources(res)
	}
	ps := coreac.PodSpec().
		WithTerminationGracePeriodSeconds(int64(preStop + seconds(s.Deploy.DrainTimeout))).
		WithTopologySpreadConstraints(coreac.TopologySpreadConstraint().
			WithMaxSkew(1).
			WithTopologyKey("kubernetes.io/hostname").
			WithWhenUnsatisfiable(corev1.ScheduleAnyway).
			WithLabelSelector(metaac.LabelSelector().WithMatchLabels(selector(w.App, w.Set))))
	for _, v := range s.Volumes {
		c.WithVolumeMounts(coreac.VolumeMount().WithName(v.Name).WithMountPath(v.Path))
		ps.WithVolumes(coreac.Volume().WithName(v.Name).
			WithPersistentVolumeClaim(coreac.PersistentVolumeClaimVolumeSource().WithClaimName(ClaimName(w.App, v.Name))))
	}
	return ps.WithContainers(c)
}

// env is the app's environment in a stable order, with PORT and, as on
// the other runtimes, NONSTOP_VOLUME_<NAME> holding each volume's path.
// The app's own variables are read from the release's env Secret, one key
// each: their values (passwords, API keys) are not in the Deployment for
// whoever may read Deployments, and keys someone else put in that Secret
// reach no pod.
func (w Workload) env() []*coreac.EnvVarApplyConfiguration {
	out := []*coreac.EnvVarApplyConfiguration{coreac.EnvVar().WithName("PORT").WithValue(strconv.Itoa(int(w.port())))}
	vols := map[string]string{}
	for _, v := range w.Spec.Volumes {
		vols[runtime.VolumeEnv(v.Name)] = v.Path
	}
	for _, k := range w.appEnvKeys(vols) {
		out = append(out, coreac.EnvVar().WithName(k).WithValueFrom(coreac.EnvVarSource().
			WithSecretKeyRef(coreac.SecretKeySelector().WithName(w.EnvSecret()).WithKey(k))))
	}
	for _, k := range slices.Sorted(maps.Keys(vols)) {
		out = append(out, coreac.EnvVar().WithName(k).WithValue(vols[k]))
	}
	return out
}

// appEnvKeys are the app's own variables, sorted, but those the runtime
// sets itself (PORT, the volumes').
func (w Workload) appEnvKeys(vols map[string]string) []string {
	var keys []string
	for _, k := range slices.Sorted(maps.Keys(w.Env)) {
		if _, ours := vols[k]; k != "PORT" && !ours {
			keys = append(keys, k)
		}
	}
	return keys
}

// EnvSecret is the name of the Secret holding the release's environment.
func (w Workload) EnvSecret() string { return EnvSecretName(w.App, w.Release) }

// EnvSecretName is the Secret of release's environment.
func EnvSecretName(app string, release int) string { return fmt.Sprintf("%s-env-v%d", app, release) }

// resources turns the spec's requests and limits into a container's (nil: none).
func resources(r spec.Resources) *coreac.ResourceRequirementsApplyConfiguration {
	list := func(q spec.Quantities) corev1.ResourceList {
		l := corev1.ResourceList{}
		if q.CPU != "" {
			l[corev1.ResourceCPU] = resource.MustParse(q.CPU)
		}
		if q.Memory != "" {
			l[corev1.ResourceMemory] = resource.MustParse(q.Memory)
		}
		return l
	}
	req, lim := list(r.Requests), list(r.Limits)
	if len(req) == 0 && len(lim) == 0 {
		return nil
	}
	out := coreac.ResourceRequirements()
	if len(req) > 0 {
		out.WithRequests(req)
	}
	if len(lim) > 0 {
		out.WithLimits(lim)
	}
	return out
}
