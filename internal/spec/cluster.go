package spec

import "time"

// Volume is persistent storage an app's instances mount: a
// PersistentVolumeClaim on Kubernetes, a named volume on Docker, a folder
// under the data folder on the process runtime. It outlives releases.
type Volume struct {
	Name string `yaml:"name" json:"name"`
	Path string `yaml:"path" json:"path"`           // where instances see it (process runtime: $NONSTOP_VOLUME_<NAME> holds the folder)
	Size string `yaml:"size" json:"size,omitempty"` // a quantity such as 1Gi (Kubernetes: the claim's request)
}

// Resources are what one instance asks for (requests) and may use at most
// (limits): CPU in cores ("500m", "2") and memory in bytes ("256Mi").
type Resources struct {
	Requests Quantities `yaml:"requests" json:"requests"`
	Limits   Quantities `yaml:"limits" json:"limits"`
}

// Quantities is a CPU and a memory amount; "" leaves one unset.
type Quantities struct {
	CPU    string `yaml:"cpu" json:"cpu,omitempty"`
	Memory string `yaml:"memory" json:"memory,omitempty"`
}

// Kubernetes holds the settings that only the kubernetes runtime reads.
type Kubernetes struct {
	// Namespace the app's objects live in (default: the app's name).
	Namespace string `yaml:"namespace" json:"namespace,omitempty"`
	// Service exposes the app inside (and, by type, outside) the cluster.
	Service Service `yaml:"service" json:"service"`
	// Gateway, when named, carries canary and blue-green traffic: nonstop
	// writes an HTTPRoute attached to it with weighted backends.
	Gateway *Gateway `yaml:"gateway" json:"gateway,omitempty"`
	// MinReady is how long a new pod must stay Ready before it counts as
	// available (minReadySeconds): a pod that turns Ready then crashes
	// does not let the rollout go on.
	MinReady time.Duration `yaml:"min_ready" json:"min_ready"`
	// PreStop is how long a terminating pod keeps serving before it gets
	// SIGTERM, so that every node and proxy has seen it leave the
	// endpoints first.
	PreStop time.Duration `yaml:"pre_stop" json:"pre_stop"`
	// Labels are added to the app's pods (cost centres, policies, tests).
	Labels map[string]string `yaml:"labels" json:"labels,omitempty"`
	// StorageClass of the volumes' claims ("": the cluster's default).
	StorageClass string `yaml:"storage_class" json:"storage_class,omitempty"`
}

// Service is the Kubernetes Service nonstop creates for an app.
type Service struct {
	Type     string `yaml:"type" json:"type"`                     // ClusterIP, NodePort or LoadBalancer
	NodePort int    `yaml:"node_port" json:"node_port,omitempty"` // NodePort/LoadBalancer: a fixed node port (0: the cluster picks)
}

// Gateway names a Gateway API Gateway and the host names its route answers.
type Gateway struct {
	Name      string   `yaml:"name" json:"name"`
	Namespace string   `yaml:"namespace" json:"namespace,omitempty"` // default: the app's namespace
	Hostnames []string `yaml:"hostnames" json:"hostnames,omitempty"`
}

// Service types the kubernetes runtime accepts.
const (
	ServiceClusterIP    = "ClusterIP"
	ServiceNodePort     = "NodePort"
	ServiceLoadBalancer = "LoadBalancer"
)
