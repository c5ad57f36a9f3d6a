// Package kubernetes runs apps on a Kubernetes cluster. Where the process
// and Docker runtimes start instances one by one, here Kubernetes does the
// scheduling: nonstop writes Deployments, Services, PodDisruptionBudgets,
// PersistentVolumeClaims and Gateway API HTTPRoutes with server-side apply,
// and reads back what the controllers did. The rollout engine keeps the
// strategy and the safety checks: it watches every rollout and rolls back
// by itself, which Kubernetes never does.
//
// Every object carries the standard labels (app.kubernetes.io/name,
// /instance, /version, /managed-by: nonstop), so kubectl shows what nonstop
// made.
package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"os"

	"k8s.io/client-go/dynamic"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// FieldManager is the name nonstop's server-side applies are recorded under.
const FieldManager = "nonstop"

// Label keys nonstop sets.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelVersion   = "app.kubernetes.io/version"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// LabelSet tells an app's pod sets apart: "stable" for the Deployment
	// that serves between rollouts, "vN" for a canary or blue-green set.
	LabelSet = "nonstop.dev/set"
	// AnnotationRelease holds the release number a Deployment runs.
	AnnotationRelease = "nonstop.dev/release"
)

// Options say how to reach the cluster.
type Options struct {
	// Kubeconfig is a kubeconfig file. "": $KUBECONFIG, then the
	// in-cluster service account.
	Kubeconfig string
}

// Cluster is a connection to one Kubernetes cluster.
type Cluster struct {
	cs   k8s.Interface
	dyn  dynamic.Interface
	host string
}

// Connect builds a client from the kubeconfig (the flag, then $KUBECONFIG),
// or from the pod's service account when nonstop runs in the cluster.
// It does not contact the cluster: see Ping.
func Connect(opts Options) (*Cluster, error) {
	cfg, err := restConfig(opts.Kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.UserAgent = "nonstop"
	cfg.QPS, cfg.Burst = 50, 100
	cs, err := k8s.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes dynamic client: %w", err)
	}
	return &Cluster{cs: cs, dyn: dyn, host: cfg.Host}, nil
}

func restConfig(path string) (*rest.Config, error) {
	if path == "" {
		path = os.Getenv("KUBECONFIG")
	}
	if path != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
		}
		return cfg, nil
	}
	cfg, err := rest.InClusterConfig()
	if errors.Is(err, rest.ErrNotInCluster) {
		return nil, errors.New("no cluster: give --kubeconfig or set KUBECONFIG (or run nonstop in a pod)")
	}
	if err != nil {
		return nil, fmt.Errorf("in-cluster config: %w", err)
	}
	return cfg, nil
}

// Host is the API server's URL.
func (c *Cluster) Host() string { return c.host }

// Ping asks the API server for its version, to check the connection and
// the credentials at start.
func (c *Cluster) Ping(ctx context.Context) (string, error) {
	type result struct {
		v   string
		err error
	}
	done := make(chan result, 1)
	go func() { // the discovery client takes no context
		v, err := c.cs.Discovery().ServerVersion()
		if err != nil {
			done <- result{err: err}
			return
		}
		done <- result{v: v.GitVersion}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return "", fmt.Errorf("kubernetes API %s: %w", c.host, r.err)
		}
		return r.v, nil
	case <-ctx.Done():
		return "", fmt.Errorf("kubernetes API %s: %w", c.host, ctx.Err())
	}
}
