package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Build-node labels: a build Job runs on nodes labelled
// nonstop.dev/build=true, and on those with nonstop.dev/build-L=true for
// each of the app's build labels L. A NoSchedule taint nonstop.dev/build
// on those nodes keeps serving pods away; build pods tolerate it.
const (
	LabelBuildNode = "nonstop.dev/build"
	labelBuildPre  = "nonstop.dev/build-"
)

// Default images of a build Job.
const (
	DefaultBuilderImage = "gcr.io/kaniko-project/executor:v1.23.2"
	DefaultFetchImage   = "busybox:1.36"
)

// BuildJob is an image build that runs as a Kubernetes Job, on an
// ephemeral pod on a build node: an init container downloads the source
// from nonstop (with a token good for this build only), then the builder
// (kaniko by default) builds the Dockerfile and pushes the image, and
// writes the pushed digest as its termination message.
type BuildJob struct {
	App, Namespace string
	Build          int
	// ID tells this build's Job from one of an earlier app of the same
	// name whose build had the same number ("": none).
	ID           string
	Destination  string   // REGISTRY/APP:N
	SourceURL    string   // a tar.gz of the source, fetched with SourceToken
	SourceToken  string   // kept in a Secret, never in the Job's spec
	Labels       []string // the app's build_labels
	BuilderImage string   // "": DefaultBuilderImage
	FetchImage   string   // "": DefaultFetchImage
	// RegistrySecret names a Secret of type kubernetes.io/dockerconfigjson
	// in Namespace with the credentials to push ("": none).
	RegistrySecret string
	Timeout        time.Duration // the Job's activeDeadlineSeconds (0: 30 min)
}

// Name is the Job's name.
func (b BuildJob) Name() string {
	if b.ID == "" {
		return fmt.Sprintf("%s-build-%d", b.App, b.Build)
	}
	return fmt.Sprintf("%s-build-%d-%s", b.App, b.Build, b.ID)
}

// NodeSelector is where the build may run.
func (b BuildJob) NodeSelector() map[string]string {
	sel := map[string]string{LabelBuildNode: "true"}
	for _, l := range b.Labels {
		sel[labelBuildPre+l] = "true"
	}
	return sel
}

// Job is the Job object, for Create.
func (b BuildJob) Job() *batchv1.Job {
	builder, fetch := b.BuilderImage, b.FetchImage
	if builder == "" {
		builder = DefaultBuilderImage
	}
	if fetch == "" {
		fetch = DefaultFetchImage
	}
	timeout := b.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Minute
	}
	labels := appLabels(b.App)
	labels["app.kubernetes.io/component"] = "build"
	workspace := corev1.VolumeMount{Name: "workspace", MountPath: "/workspace"}
	kaniko := corev1.Container{
		Name:  "build",
		Image: builder,
		Args: []string{"--context=dir:///workspace/src", "--dockerfile=Dockerfile",
			"--destination=" + b.Destination, "--digest-file=/dev/termination-log"},
		VolumeMounts:             []corev1.VolumeMount{workspace},
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
	}
	volumes := []corev1.Volume{{Name: "workspace", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	if b.RegistrySecret != "" {
		volumes = append(volumes, corev1.Volume{Name: "registry", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: b.RegistrySecret, Items: []corev1.KeyToPath{{Key: corev1.DockerConfigJsonKey, Path: "config.json"}}}}})
		kaniko.VolumeMounts = append(kaniko.VolumeMounts, corev1.VolumeMount{Name: "registry", MountPath: "/kaniko/.docker", ReadOnly: true})
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: b.Name(), Namespace: b.Namespace, Labels: labels},
		Spec: batchv1.JobSpec{
			BackoffLimit:            ptr.To[int32](0),
			ActiveDeadlineSeconds:   ptr.To(int64(seconds(timeout))),
			TTLSecondsAfterFinished: ptr.To[int32](3600),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					NodeSelector:  b.NodeSelector(),
					Tolerations:   []corev1.Toleration{{Key: LabelBuildNode, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
					InitContainers: []corev1.Container{{
						Name:  "fetch",
						Image: fetch,
						Command: []string{"sh", "-c", `set -e; mkdir -p /workspace/src
wget -q --header "Authorization: Bearer $NONSTOP_BUILD_TOKEN" -O /workspace/source.tar.gz "$NONSTOP_SOURCE_URL"
tar -xzf /workspace/source.tar.gz -C /workspace/src`},
						Env: []corev1.EnvVar{
							{Name: "NONSTOP_SOURCE_URL", Value: b.SourceURL},
							{Name: "NONSTOP_BUILD_TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
								LocalObjectReference: corev1.LocalObjectReference{Name: b.Name()}, Key: "token"}}},
						},
						VolumeMounts: []corev1.VolumeMount{workspace},
					}},
					Containers: []corev1.Container{kaniko},
					Volumes:    volumes,
				},
			},
		},
	}
}

// StartBuild creates the build's token Secret and its Job (both again
// after a restart: an existing Job of the same build is kept).
func (c *Cluster) StartBuild(ctx context.Context, b BuildJob) error {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: b.Name(), Namespace: b.Namespace, Labels: appLabels(b.App)},
		StringData: map[string]string{"token": b.SourceToken},
	}
	if _, err := c.cs.CoreV1().Secrets(b.Namespace).Create(ctx, secret, metav1.CreateOptions{FieldManager: FieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create build secret %s/%s: %w", b.Namespace, b.Name(), err)
	}
	if _, err := c.cs.BatchV1().Jobs(b.Namespace).Create(ctx, b.Job(), metav1.CreateOptions{FieldManager: FieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create build job %s/%s: %w", b.Namespace, b.Name(), err)
	}
	return nil
}

// ErrNoDigest is returned for a build Job that succeeded without saying
// which digest it pushed.
var ErrNoDigest = errors.New("the build job succeeded but reported no image digest (its builder must write it to /dev/termination-log)")

// WaitBuild waits for the build Job to end and returns the digest it
// pushed. A failed Job's error says which pod failed and why.
func (c *Cluster) WaitBuild(ctx context.Context, b BuildJob) (string, error) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		job, err := c.cs.BatchV1().Jobs(b.Namespace).Get(ctx, b.Name(), metav1.GetOptions{})
		if err != nil {
			return "", fmt.Errorf("get build job %s/%s: %w", b.Namespace, b.Name(), err)
		}
		for _, cond := range job.Status.Conditions {
			if cond.Status != corev1.ConditionTrue {
				continue
			}
			switch cond.Type {
			case batchv1.JobComplete:
				return c.buildDigest(ctx, b)
			case batchv1.JobFailed:
				pods, _ := c.buildPods(ctx, b)
				return "", fmt.Errorf("build job %s failed: %s %s; %s", b.Name(), cond.Reason, cond.Message, strings.Join(pods, "; "))
			}
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-t.C:
		}
	}
}

// EndBuild deletes the build's token Secret once the build is over; the
// Job stays (its pods' logs say what happened) until its TTL.
func (c *Cluster) EndBuild(ctx context.Context, b BuildJob) error {
	if err := c.cs.CoreV1().Secrets(b.Namespace).Delete(ctx, b.Name(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete build secret %s: %w", b.Name(), err)
	}
	return nil
}

// CancelBuild deletes the build's Job (its pods with it) and Secret.
func (c *Cluster) CancelBuild(ctx context.Context, b BuildJob) error {
	bg := metav1.DeletePropagationBackground
	if err := c.cs.BatchV1().Jobs(b.Namespace).Delete(ctx, b.Name(), metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete build job %s: %w", b.Name(), err)
	}
	if err := c.cs.CoreV1().Secrets(b.Namespace).Delete(ctx, b.Name(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete build secret %s: %w", b.Name(), err)
	}
	return nil
}

func (c *Cluster) buildDigest(ctx context.Context, b BuildJob) (string, error) {
	pods, err := c.cs.CoreV1().Pods(b.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + b.Name()})
	if err != nil {
		return "", fmt.Errorf("list build pods: %w", err)
	}
	for _, p := range pods.Items {
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name == "build" && cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0 {
				if d := strings.TrimSpace(cs.State.Terminated.Message); strings.HasPrefix(d, "sha256:") {
					return d, nil
				}
			}
		}
	}
	return "", ErrNoDigest
}

// buildPods describes the build's pods: name, node and what went wrong.
func (c *Cluster) buildPods(ctx context.Context, b BuildJob) ([]string, error) {
	pods, err := c.cs.CoreV1().Pods(b.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + b.Name()})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range pods.Items {
		out = append(out, fmt.Sprintf("pod %s on %s: %s", p.Name, p.Spec.NodeName, podProblem(&p)))
	}
	return out, nil
}
