package k8stest

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCluster starts a cluster and checks it with net/http alone: the CA
// file and token the kubeconfig names, /readyz, the two labelled nodes and
// the Gateway API HTTPRoute CRD.
func TestCluster(t *testing.T) {
	c := StartT(t)

	kc, err := os.ReadFile(c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{c.Server, c.CAFile, c.Token} {
		if !strings.Contains(string(kc), want) {
			t.Errorf("kubeconfig does not contain %q:\n%s", want, kc)
		}
	}
	if !strings.HasPrefix(c.Server, "https://127.0.0.1:") {
		t.Errorf("server %q is not on 127.0.0.1", c.Server)
	}
	client, err := c.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, []byte) {
		t.Helper()
		resp, err := client.Get(c.Server + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp.StatusCode, body
	}

	if code, body := get("/readyz"); code != http.StatusOK || string(body) != "ok" {
		t.Errorf("/readyz: %d %q, want 200 \"ok\"", code, body)
	}

	code, body := get("/api/v1/nodes")
	if code != http.StatusOK {
		t.Fatalf("/api/v1/nodes: %d %s", code, body)
	}
	var nodes struct {
		Items []struct {
			Metadata struct {
				Name   string            `json:"name"`
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &nodes); err != nil {
		t.Fatal(err)
	}
	labels := map[string]map[string]string{}
	for _, n := range nodes.Items {
		labels[n.Metadata.Name] = n.Metadata.Labels
	}
	if len(labels) != 2 || labels["kwok-node-0"] == nil || labels["kwok-node-1"] == nil {
		t.Fatalf("nodes %v, want kwok-node-0 and kwok-node-1", labels)
	}
	for name, l := range labels {
		if l["type"] != "kwok" {
			t.Errorf("node %s: label type=%q, want kwok", name, l["type"])
		}
	}
	if got := labels["kwok-node-0"]["nonstop.dev/build"]; got != "true" {
		t.Errorf("kwok-node-0: label nonstop.dev/build=%q, want true", got)
	}
	if got, ok := labels["kwok-node-1"]["nonstop.dev/build"]; ok {
		t.Errorf("kwok-node-1: label nonstop.dev/build=%q, want none", got)
	}

	code, body = get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/httproutes.gateway.networking.k8s.io")
	if code != http.StatusOK {
		t.Fatalf("httproutes CRD: %d %s", code, body)
	}
	var crd struct {
		Spec struct {
			Group string `json:"group"`
		} `json:"spec"`
		Status struct {
			Conditions []struct {
				Type   string `json:"type"`
				Status string `json:"status"`
			} `json:"conditions"`
		} `json:"status"`
	}
	if err := json.Unmarshal(body, &crd); err != nil {
		t.Fatal(err)
	}
	established := false
	for _, cond := range crd.Status.Conditions {
		established = established || cond.Type == "Established" && cond.Status == "True"
	}
	if crd.Spec.Group != "gateway.networking.k8s.io" || !established {
		t.Errorf("httproutes CRD: group %q, conditions %+v; want gateway.networking.k8s.io, Established", crd.Spec.Group, crd.Status.Conditions)
	}
	if code, body := get("/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes"); code != http.StatusOK {
		t.Errorf("listing httproutes: %d %s", code, body)
	}

	dir := c.DataDir
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("after Stop, %s: %v; want it removed", dir, err)
	}
	if _, err := client.Get(c.Server + "/readyz"); err == nil {
		t.Errorf("after Stop, the apiserver still answers")
	}
}

// TestMissingBinaries: without the binaries Start fails (so tests fail
// rather than skip), naming each missing one and the build script.
func TestMissingBinaries(t *testing.T) {
	t.Setenv("NONSTOP_K8S_CACHE", t.TempDir())
	_, err := Start(t.Context())
	if err == nil {
		t.Fatal("Start succeeded without binaries")
	}
	msg := err.Error()
	for _, want := range append([]string{filepath.Join(os.Getenv("NONSTOP_K8S_CACHE"), "bin"), "scripts/k8s-build.sh", "make test"}, Binaries...) {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
}
