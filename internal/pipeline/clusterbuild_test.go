package pipeline

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/nonstopdev/nonstop/internal/runtime/kubernetes"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

// jobCluster stands for a cluster's build Job, which fetches its source
// with its token as it starts. The real one runs in the Kubernetes e2e
// tests; this one runs where no cluster is.
type jobCluster struct {
	p                *Pipeline
	job              kubernetes.BuildJob
	wrong, fetched   bool
	again            bool
	dir              string
	waitErr          error
	ended, cancelled bool
}

func (c *jobCluster) Prepare(context.Context, kubernetes.Workload) error { return nil }

func (c *jobCluster) StartBuild(_ context.Context, b kubernetes.BuildJob) error {
	c.job = b
	_, c.wrong = c.p.BuildSource(b.App, b.Build, strings.Repeat("0", len(b.SourceToken)))
	c.dir, c.fetched = c.p.BuildSource(b.App, b.Build, b.SourceToken)
	_, c.again = c.p.BuildSource(b.App, b.Build, b.SourceToken)
	return nil
}

func (c *jobCluster) WaitBuild(ctx context.Context, _ kubernetes.BuildJob) (string, error) {
	if c.waitErr != nil {
		return "", c.waitErr
	}
	return "sha256:feed", ctx.Err()
}

func (c *jobCluster) EndBuild(context.Context, kubernetes.BuildJob) error {
	c.ended = true
	return nil
}

func (c *jobCluster) CancelBuild(context.Context, kubernetes.BuildJob) error {
	c.cancelled = true
	return nil
}

func clusterRig(t *testing.T) (*Pipeline, *jobCluster, *job) {
	p := &Pipeline{Config: Config{Logger: slog.New(slog.DiscardHandler)}, buildSources: map[string]buildSource{}}
	c := &jobCluster{p: p}
	p.ClusterBuilds = &ClusterBuilds{Cluster: c, Registry: "registry.example:5000/team/",
		SourceURL: func(app string, n int) string { return "http://nonstop.example/src/" + app }}
	j := &job{src: Source{App: &store.App{Name: "shop"}, Spec: &spec.Spec{BuildLabels: []string{"arm64"}}},
		build: &store.Build{Number: 3, Dir: t.TempDir()}}
	return p, c, j
}

// A build Job pushes REGISTRY/APP:N and the release runs it by digest; its
// token opens its source once, while it runs, and goes with it.
func TestClusterBuild_TheJobFetchesItsSourceOnceByItsToken(t *testing.T) {
	p, c, j := clusterRig(t)
	ref, err := p.clusterBuild(context.Background(), j, io.Discard)
	if err != nil || ref != "registry.example:5000/team/shop@sha256:feed" {
		t.Fatalf("cluster build: %q %v", ref, err)
	}
	if b := c.job; b.Destination != "registry.example:5000/team/shop:3" || b.Namespace != "shop" || b.Labels[0] != "arm64" ||
		b.SourceURL != "http://nonstop.example/src/shop" || len(b.SourceToken) != 48 || !strings.HasPrefix(b.SourceToken, b.ID) {
		t.Errorf("build job %+v", b)
	}
	if !c.fetched || c.dir != j.build.Dir || c.again || c.wrong {
		t.Errorf("the job's token opened the source %v (%s), a second time %v, another token %v; want once, by its token", c.fetched, c.dir, c.again, c.wrong)
	}
	if _, ok := p.BuildSource("shop", 3, c.job.SourceToken); ok {
		t.Error("the token opens the source after the build")
	}
	if !c.ended || c.cancelled {
		t.Errorf("after the build: token removed %v, job cancelled %v; want the token removed and the job kept", c.ended, c.cancelled)
	}
}

// A build cut short removes its Job; one that failed keeps it (its logs).
func TestClusterBuild_ACancelledBuildRemovesItsJob(t *testing.T) {
	p, c, j := clusterRig(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.clusterBuild(ctx, j, io.Discard); err == nil {
		t.Fatal("a cancelled build succeeded")
	}
	if !c.cancelled {
		t.Error("the cancelled build's job was kept")
	}
	p, c, j = clusterRig(t)
	c.waitErr = context.DeadlineExceeded
	if _, err := p.clusterBuild(context.Background(), j, io.Discard); err == nil || c.cancelled || !c.ended {
		t.Errorf("a failed build: %v; job cancelled %v, token removed %v", err, c.cancelled, c.ended)
	}
}
