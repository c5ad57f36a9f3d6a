package spec

import (
	"strings"
	"testing"
	"time"
)

func TestParse_KubernetesVolumesAndResources(t *testing.T) {
	s := defaulted(t, `runtime: kubernetes
volumes:
  - name: data
    path: /var/lib/app
    size: 2Gi
  - name: cache
    path: /cache
resources:
  requests: {cpu: 100m, memory: 64Mi}
  limits: {cpu: "1", memory: 256Mi}
kubernetes:
  namespace: shop
  service: {type: NodePort, node_port: 30080}
  gateway: {name: public, namespace: infra, hostnames: [shop.example.com]}
  min_ready: 0s
  pre_stop: 3s
  storage_class: fast
  labels: {team: shop, kwok.test/not-ready: "true"}
`, false)
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(s.Volumes) != 2 || s.Volumes[0] != (Volume{Name: "data", Path: "/var/lib/app", Size: "2Gi"}) || s.Volumes[1].Size != "1Gi" {
		t.Errorf("volumes = %+v, want data 2Gi and cache with the default 1Gi", s.Volumes)
	}
	if s.Resources.Requests != (Quantities{CPU: "100m", Memory: "64Mi"}) || s.Resources.Limits != (Quantities{CPU: "1", Memory: "256Mi"}) {
		t.Errorf("resources = %+v", s.Resources)
	}
	k := s.Kubernetes
	if k.Namespace != "shop" || k.Service != (Service{Type: ServiceNodePort, NodePort: 30080}) || k.StorageClass != "fast" {
		t.Errorf("kubernetes = %+v", k)
	}
	if k.Labels["team"] != "shop" || k.Labels["kwok.test/not-ready"] != "true" {
		t.Errorf("labels = %v", k.Labels)
	}
	if k.MinReady != 0 || k.PreStop != 3*time.Second {
		t.Errorf("min_ready %v (an explicit 0s stays 0), pre_stop %v, want 0s and 3s", k.MinReady, k.PreStop)
	}
	if g := k.Gateway; g == nil || g.Name != "public" || g.Namespace != "infra" || len(g.Hostnames) != 1 {
		t.Errorf("gateway = %+v", g)
	}
}

func TestValidate_KubernetesMistakesNameKeyAndLine(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"volumes:\n  - name: Data\n    path: /d\n", `nonstop.yaml:2: volumes[0].name: "Data": want lower-case`},
		{"volumes:\n  - name: d\n    path: rel\n", `nonstop.yaml:3: volumes[0].path: must be an absolute path`},
		{"volumes:\n  - name: d\n    path: /d\n  - name: d\n    path: /e\n", `volumes[1].name: "d" is also volumes[0]'s name`},
		{"volumes:\n  - name: d\n    path: /d\n    size: lots\n", `nonstop.yaml:4: volumes[0].size: "lots": want a size`},
		{"resources:\n  limits:\n    memory: 1GB\n", `nonstop.yaml:3: resources.limits.memory: "1GB"`},
		{"kubernetes:\n  service:\n    type: Ingress\n", `nonstop.yaml:3: kubernetes.service.type: unknown service type "Ingress"`},
		{"kubernetes:\n  service:\n    type: NodePort\n    node_port: 80\n", `nonstop.yaml:4: kubernetes.service.node_port: must be from 30000 to 32767`},
		{"kubernetes:\n  service:\n    node_port: 30001\n", `kubernetes.service.node_port: needs service type NodePort`},
		{"kubernetes:\n  namespace: My_NS\n", `nonstop.yaml:2: kubernetes.namespace: "My_NS"`},
		{"kubernetes:\n  labels:\n    app.kubernetes.io/name: x\n", `kubernetes.labels.app.kubernetes.io/name: reserved`},
		{"kubernetes:\n  labels:\n    team: \"a b\"\n", `nonstop.yaml:3: kubernetes.labels.team: not a valid Kubernetes label`},
		{"kubernetes:\n  gateway: {}\n", `kubernetes.gateway.name: "": want the name of a Gateway`},
	} {
		s := defaulted(t, tc.yaml, true)
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant it to contain %s", tc.yaml, err, tc.want)
		}
	}
}
