package pipeline

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nonstopdev/nonstop/internal/runtime/kubernetes"
)

// ClusterBuilds runs the image builds of kubernetes apps as Jobs on the
// cluster (on its build nodes, away from the serving ones) instead of on
// this machine's Docker Engine.
type ClusterBuilds struct {
	// Cluster runs the build Jobs.
	Cluster BuildCluster
	// Registry is where images are pushed: REGISTRY/APP:N.
	Registry string
	// SourceURL is the URL of a build's source on nonstop's API, as the
	// cluster's pods reach it.
	SourceURL func(app string, build int) string
	// BuilderImage, FetchImage: see kubernetes.BuildJob ("": defaults).
	BuilderImage, FetchImage string
	// RegistrySecret names the dockerconfigjson Secret the builder pushes with.
	RegistrySecret string
}

// BuildCluster is what a cluster build asks of the cluster, in this order:
// Prepare makes what the app's pods need (its namespace, its volumes'
// claims); StartBuild creates a build's Job and the Secret with its source
// token (again after a restart: an existing Job is kept); WaitBuild returns
// the digest the Job pushed; then EndBuild removes the token and keeps the
// Job (its pods' logs), or CancelBuild removes both. A resource already gone
// is no error to EndBuild and CancelBuild.
type BuildCluster interface {
	Prepare(ctx context.Context, w kubernetes.Workload) error
	StartBuild(ctx context.Context, b kubernetes.BuildJob) error
	WaitBuild(ctx context.Context, b kubernetes.BuildJob) (digest string, err error)
	EndBuild(ctx context.Context, b kubernetes.BuildJob) error
	CancelBuild(ctx context.Context, b kubernetes.BuildJob) error
}

var _ BuildCluster = (*kubernetes.Cluster)(nil)

// buildKey names a build for its source token.
func buildKey(app string, n int) string { return fmt.Sprintf("%s#%d", app, n) }

// BuildSource returns the source folder of app's build n when token is
// the one its build Job was given, while that build runs. The token opens
// it once: the fetch container downloads it once, and a token seen later
// (in a log, a pod's environment) opens nothing.
func (p *Pipeline) BuildSource(app string, n int, token string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := buildKey(app, n)
	src, ok := p.buildSources[key]
	if !ok || src.token == "" || subtle.ConstantTimeCompare([]byte(src.token), []byte(token)) != 1 {
		return "", false
	}
	p.buildSources[key] = buildSource{dir: src.dir} // used: no token opens it again
	return src.dir, true
}

type buildSource struct{ token, dir string }

// clusterBuild builds the image of j's build as a Job on the cluster and
// returns it pinned by the digest the builder pushed.
func (p *Pipeline) clusterBuild(ctx context.Context, j *job, out io.Writer) (string, error) {
	cb, b, app, sp := p.ClusterBuilds, j.build, j.src.App.Name, j.src.Spec
	secret := make([]byte, 24)
	rand.Read(secret)
	token := hex.EncodeToString(secret)
	key := buildKey(app, b.Number)
	p.mu.Lock()
	p.buildSources[key] = buildSource{token: token, dir: b.Dir}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.buildSources, key)
		p.mu.Unlock()
	}()
	repo := strings.TrimSuffix(cb.Registry, "/") + "/" + app
	job := kubernetes.BuildJob{
		App: app, Namespace: kubernetes.Namespace(app, sp), Build: b.Number, ID: token[:6],
		Destination: fmt.Sprintf("%s:%d", repo, b.Number), SourceURL: cb.SourceURL(app, b.Number), SourceToken: token,
		Labels: sp.BuildLabels, BuilderImage: cb.BuilderImage, FetchImage: cb.FetchImage, RegistrySecret: cb.RegistrySecret,
	}
	if err := cb.Cluster.Prepare(ctx, kubernetes.Workload{App: app, Spec: *sp}); err != nil {
		return "", err
	}
	if err := cb.Cluster.StartBuild(ctx, job); err != nil {
		return "", err
	}
	fmt.Fprintf(out, "build #%d: job %s/%s on a node matching %v, pushing %s\n", b.Number, job.Namespace, job.Name(), job.NodeSelector(), job.Destination)
	digest, err := cb.Cluster.WaitBuild(ctx, job)
	// The token goes with the build. The Job is kept when it ran (its
	// pod's logs say what happened) and removed when it was cancelled.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if ctx.Err() != nil {
		if err := cb.Cluster.CancelBuild(cctx, job); err != nil {
			p.Logger.Warn("remove cancelled build job", "app", app, "build", b.Number, "err", err)
		}
	} else if err := cb.Cluster.EndBuild(cctx, job); err != nil {
		p.Logger.Warn("remove build token", "app", app, "build", b.Number, "err", err)
	}
	if err != nil {
		return "", err
	}
	return repo + "@" + digest, nil
}
