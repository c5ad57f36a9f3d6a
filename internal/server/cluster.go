package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nonstopdev/nonstop/internal/pipeline"
	"github.com/nonstopdev/nonstop/internal/runtime/kubernetes"
)

// ClusterConfig is how to reach a Kubernetes cluster.
type ClusterConfig struct {
	// Kubeconfig is the kubeconfig file; "": $KUBECONFIG, then the
	// in-cluster service account, else no cluster.
	Kubeconfig string
	// PodNetwork: nonstop's proxy reaches the pods' IPs, so it carries the
	// apps' traffic to their endpoints and splits canaries itself.
	PodNetwork bool
	// Builds runs kubernetes apps' image builds as Jobs on the cluster.
	Builds bool
	// BuilderImage, FetchImage and RegistrySecret configure build Jobs.
	BuilderImage, FetchImage, RegistrySecret string
	// SourceURL is nonstop's API as build pods reach it ("": the API's own address).
	SourceURL string
}

// clusterBuilds is the build Jobs' configuration on cluster, or nil when off.
func clusterBuilds(cfg ClusterConfig, cluster *kubernetes.Cluster, registry, apiURL string, log *slog.Logger) (*pipeline.ClusterBuilds, error) {
	if !cfg.Builds {
		return nil, nil
	}
	if registry == "" {
		return nil, errors.New("--kube-builds needs --registry: the cluster pulls the images its Jobs push there")
	}
	base := strings.TrimSuffix(cmp.Or(cfg.SourceURL, apiURL), "/")
	if u, err := url.Parse(base); err == nil && cfg.SourceURL == "" {
		if ip := net.ParseIP(u.Hostname()); u.Hostname() == "localhost" || ip != nil && ip.IsLoopback() {
			log.Warn("build pods fetch their source from nonstop's API at a loopback address, which pods in a cluster cannot reach: set --kube-source-url", "url", base)
		}
	}
	return &pipeline.ClusterBuilds{
		Cluster:        cluster,
		Registry:       registry,
		SourceURL:      func(app string, n int) string { return fmt.Sprintf("%s/api/v1/build-sources/%s/%d", base, app, n) },
		BuilderImage:   cfg.BuilderImage,
		FetchImage:     cfg.FetchImage,
		RegistrySecret: cfg.RegistrySecret,
	}, nil
}

// cluster connects to the configured Kubernetes cluster, or returns nil
// when none is configured. A cluster that is configured but does not
// answer stops the start: deploys to it would fail one by one.
func cluster(ctx context.Context, cfg ClusterConfig, log *slog.Logger) (*kubernetes.Cluster, error) {
	if cfg.Kubeconfig == "" && os.Getenv("KUBECONFIG") == "" && os.Getenv("KUBERNETES_SERVICE_HOST") == "" {
		return nil, nil
	}
	c, err := kubernetes.Connect(kubernetes.Options{Kubeconfig: cfg.Kubeconfig})
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	version, err := c.Ping(pctx)
	if err != nil {
		return nil, fmt.Errorf("kubernetes runtime: %w", err)
	}
	log.Info("kubernetes runtime on", "api", c.Host(), "version", version)
	return c, nil
}
