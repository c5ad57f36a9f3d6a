package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nonstopdev/nonstop/internal/runtime/kubernetes"
)

// ClusterConfig is how to reach a Kubernetes cluster.
type ClusterConfig struct {
	// Kubeconfig is the kubeconfig file; "": $KUBECONFIG, then the
	// in-cluster service account, else no cluster.
	Kubeconfig string
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
