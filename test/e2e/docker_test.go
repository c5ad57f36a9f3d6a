package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/examples"
	"github.com/nonstopdev/nonstop/internal/loadgen"
)

// registryEnv is the loopback registry scripts/docker.sh starts.
type registryEnv struct{ addr, user, password string }

// needDocker fails the test, saying what to run, when Docker Engine or the
// registry is not there.
func needDocker(t *testing.T) registryEnv {
	t.Helper()
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.APIVersion}}").CombinedOutput(); err != nil {
		t.Fatalf("Docker Engine is not reachable (%v: %s): run scripts/docker.sh (make test does)", err, out)
	}
	path := os.Getenv("NONSTOP_TEST_REGISTRY_ENV")
	if path == "" {
		path = "/var/lib/nonstop-test/registry.env"
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("the test registry's credentials are missing (%v): run scripts/docker.sh (make test does)", err)
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			vars[k] = v
		}
	}
	r := registryEnv{vars["NONSTOP_TEST_REGISTRY"], vars["NONSTOP_TEST_REGISTRY_USER"], vars["NONSTOP_TEST_REGISTRY_PASSWORD"]}
	req, _ := http.NewRequest("GET", "http://"+r.addr+"/v2/", nil)
	req.SetBasicAuth(r.user, r.password)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the test registry at %s does not answer (%v): run scripts/docker.sh (make test does)", r.addr, err)
	}
	return r
}

// newDockerCluster starts a server that builds images and pushes them to
// the test registry.
func newDockerCluster(t *testing.T, reg registryEnv) *cluster {
	t.Helper()
	return newClusterWith(t, []string{"--require-docker", "--registry", reg.addr, "--registry-user", reg.user},
		[]string{"NONSTOP_REGISTRY_PASSWORD=" + reg.password})
}

// uniqueApp returns an app name no earlier run used: the registry keeps
// its images across runs.
func uniqueApp(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// dockerSource writes examples/hello-docker as app, at a version, into a
// fresh git work tree (so its commit tags the image).
func dockerSource(t *testing.T, app, version, startTimeout string, env ...string) (dir, sha string) {
	t.Helper()
	dir = t.TempDir()
	sub, _ := fs.Sub(examples.FS, "hello-docker")
	if err := os.CopyFS(dir, sub); err != nil {
		t.Fatal(err)
	}
	spec := fmt.Sprintf(`name: %s
runtime: docker
build: CGO_ENABLED=0 go build -o app main.go
port: 8080
instances: 2
health:
  path: /healthz
  interval: 200ms
  timeout: 1s
  start_timeout: %s
deploy:
  max_surge: 1
  max_unavailable: 0
  drain_timeout: 10s
  stop_timeout: 5s
env:
  VERSION: "%s"
`, app, startTimeout, version)
	for _, e := range env {
		spec += "  " + e + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "nonstop.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "v" + version}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	out, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return dir, strings.TrimSpace(string(out))
}

// registryTags lists a repository's tags in the test registry.
func registryTags(t *testing.T, reg registryEnv, repo string) []string {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+reg.addr+"/v2/"+repo+"/tags/list", nil)
	req.SetBasicAuth(reg.user, reg.password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Tags []string }
	json.NewDecoder(resp.Body).Decode(&body)
	return body.Tags
}

// The container pipeline end to end: a Dockerfile app built, pushed to the
// loopback registry with tags N and the commit, deployed with 2 containers,
// then 5 rollouts in a row under load with slow requests in flight.
func TestDocker_BuildPushAndFiveRolloutsUnderLoad(t *testing.T) {
	reg := needDocker(t)
	c := newDockerCluster(t, reg)
	app := uniqueApp("hd")
	c.mustRun("apps", "create", app)
	dir, sha := dockerSource(t, app, "1", "30s")
	out := c.mustRun("deploy", dir)
	if !strings.Contains(out, "v1 is live") {
		t.Fatalf("first deploy:\n%s", out)
	}
	tags := strings.Join(registryTags(t, reg, app), " ")
	if !strings.Contains(" "+tags+" ", " 1 ") || !strings.Contains(tags, sha) {
		t.Fatalf("registry tags of %s: %q; want 1 and %s", app, tags, sha)
	}
	insts, err := c.client().Instances(context.Background(), app)
	if err != nil || len(insts) != 2 {
		t.Fatalf("instances: %d %v", len(insts), err)
	}
	rels, _ := c.client().Releases(context.Background(), app)
	if len(rels) != 1 || !strings.HasPrefix(rels[0].Image, reg.addr+"/"+app+"@sha256:") {
		t.Fatalf("release image %+v: want it pinned by digest in the registry", rels)
	}

	load := loadgen.Start(context.Background(), loadgen.Config{URL: "http://" + c.http, Host: app + ".localhost", Workers: 4,
		SlowPath: "/slow?ms=1500", SlowWorkers: 3, MaxDuration: 15 * time.Minute})
	defer load.Stop()
	for v := 2; v <= 6; v++ {
		dir, _ := dockerSource(t, app, fmt.Sprint(v), "30s")
		if out := c.mustRun("deploy", dir); !strings.Contains(out, fmt.Sprintf("v%d is live", v)) {
			t.Fatalf("deploy v%d:\n%s", v, out)
		}
	}
	res := load.Stop()
	t.Logf("load: sent %d, ok %d, failed %d, slow ok %d, versions %s", res.Sent, res.OK, res.Failed, res.Slow, res.VersionList())
	if res.Failed != 0 {
		t.Fatalf("%d of %d requests failed: %v", res.Failed, res.Sent, res.Errors)
	}
	if res.Slow < 10 || res.Versions["v6"] == 0 {
		t.Fatalf("the load did not cover the rollouts: %+v", res)
	}
	status := c.mustRun("status", app)
	if !strings.Contains(status, "running") {
		t.Errorf("status:\n%s", status)
	}

	// The app's containers are on its own network, which goes with it.
	id, err := os.ReadFile(filepath.Join(c.data, "install.id"))
	if err != nil {
		t.Fatal(err)
	}
	network := "nonstop-" + string(id[:6]) + "-" + app
	insts, _ = c.client().Instances(context.Background(), app)
	for _, in := range insts {
		out, _ := exec.Command("docker", "inspect", "-f", "{{.HostConfig.NetworkMode}}", "nonstop-"+in.ID).CombinedOutput()
		if got := strings.TrimSpace(string(out)); got != network {
			t.Errorf("container of %s on network %q, want the app's own %s", in.ID, got, network)
		}
	}
	c.mustRun("apps", "delete", app)
	if out, err := exec.Command("docker", "network", "inspect", network).CombinedOutput(); err == nil {
		t.Errorf("network %s still there after the app was deleted:\n%s", network, out)
	}
}

// A container that crashes at start, and one that never becomes healthy:
// each rollout refused, the live containers keep serving, the reason and
// the container's last log lines reported.
func TestDocker_BadReleasesAreRefusedAndTheLiveOneServes(t *testing.T) {
	reg := needDocker(t)
	c := newDockerCluster(t, reg)
	app := uniqueApp("hb")
	c.mustRun("apps", "create", app)
	dir, _ := dockerSource(t, app, "1", "30s")
	c.mustRun("deploy", dir)
	load := loadgen.Start(context.Background(), loadgen.Config{URL: "http://" + c.http, Host: app + ".localhost", Workers: 2, MaxDuration: 10 * time.Minute})
	defer load.Stop()

	crash, _ := dockerSource(t, app, "2", "30s", `CRASH_ON_START: "1"`)
	out, code := c.run("deploy", crash)
	if code == 0 || !strings.Contains(out, "rolled back") || !strings.Contains(out, "CRASH_ON_START is set") {
		t.Fatalf("a container crashing at start: exit %d\n%s", code, out)
	}
	sick, _ := dockerSource(t, app, "3", "3s", `UNHEALTHY: "1"`)
	out, code = c.run("deploy", sick)
	if code == 0 || !strings.Contains(out, "not healthy after 3s") || !strings.Contains(out, "v3 listening") {
		t.Fatalf("a container never healthy: exit %d\n%s", code, out)
	}
	broken, _ := dockerSource(t, app, "4", "30s")
	dockerfile := "FROM scratch\nCOPY app /app\n# the next line names a file the source does not have\nCOPY missing.conf /etc/app.conf\nENTRYPOINT [\"/app\"]\n"
	if err := os.WriteFile(filepath.Join(broken, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code = c.run("deploy", broken)
	if code == 0 || !strings.Contains(out, "Dockerfile:4: COPY missing.conf") {
		t.Fatalf("a Dockerfile that fails: exit %d\n%s", code, out)
	}
	res := load.Stop()
	if res.Failed != 0 || res.Versions["v1"] == 0 || len(res.Versions) != 1 {
		t.Fatalf("while bad releases were refused: %+v", res)
	}
	for i := 0; i < 5; i++ {
		if code, body, err := c.get(app, "/"); err != nil || code != 200 || !strings.Contains(body, "from v1") {
			t.Fatalf("after the refusals: %d %q %v", code, body, err)
		}
	}
}

// nonstop restarted while containers run: it adopts them, traffic goes
// on, and the next deploy replaces them.
func TestDocker_RestartAdoptsRunningContainers(t *testing.T) {
	reg := needDocker(t)
	c := newDockerCluster(t, reg)
	app := uniqueApp("hr")
	c.mustRun("apps", "create", app)
	dir, _ := dockerSource(t, app, "1", "30s")
	c.mustRun("deploy", dir)
	before, _ := c.client().Instances(context.Background(), app)

	load := loadgen.Start(context.Background(), loadgen.Config{URL: "http://" + c.http, Host: app + ".localhost", Workers: 2, MaxDuration: 10 * time.Minute})
	defer load.Stop()
	c.killServer()
	time.Sleep(time.Second)
	c.startServer()
	after, err := c.client().Instances(context.Background(), app)
	if err != nil || len(after) != 2 || after[0].ID != before[0].ID || after[1].ID != before[1].ID {
		t.Fatalf("after the restart the instances are %+v (%v), want the same as before %+v", after, err, before)
	}
	dir2, _ := dockerSource(t, app, "2", "30s")
	if out := c.mustRun("deploy", dir2); !strings.Contains(out, "v2 is live") {
		t.Fatalf("deploy after the restart:\n%s", out)
	}
	res := load.Stop()
	if res.Failed != 0 || res.Versions["v2"] == 0 {
		t.Fatalf("across the restart and the next deploy: %+v", res)
	}
	for _, in := range before {
		out, _ := exec.Command("docker", "inspect", "-f", "{{.State.Running}}", "nonstop-"+in.ID).CombinedOutput()
		if strings.TrimSpace(string(out)) == "true" {
			t.Errorf("adopted container %s still runs after it was replaced", in.ID)
		}
	}
}

// A rollback runs exactly the bytes that ran before: the release is pinned
// by digest, so overwriting its tag in the registry changes nothing.
func TestDocker_RollbackToAPinnedDigestAfterTheTagWasOverwritten(t *testing.T) {
	reg := needDocker(t)
	c := newDockerCluster(t, reg)
	app := uniqueApp("hp")
	c.mustRun("apps", "create", app)
	d1, _ := dockerSource(t, app, "1", "30s")
	c.mustRun("deploy", d1)
	d2, _ := dockerSource(t, app, "2", "30s")
	c.mustRun("deploy", d2)

	// Overwrite tag 1 in the registry with v2's image, and drop the local
	// copies, so that only the digest can bring v1 back.
	repo := reg.addr + "/" + app
	for _, args := range [][]string{
		{"login", "-u", reg.user, "--password-stdin", reg.addr},
		{"tag", repo + ":2", repo + ":1"},
		{"push", repo + ":1"},
		{"rmi", "-f", repo + ":1", repo + ":2"},
	} {
		cmd := exec.Command("docker", args...)
		if args[0] == "login" {
			cmd.Stdin = strings.NewReader(reg.password)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("docker %v: %v\n%s", args, err, out)
		}
	}
	out := c.mustRun("rollback", app, "--to", "v1")
	if !strings.Contains(out, "v1 is live") {
		t.Fatalf("rollback:\n%s", out)
	}
	for i := 0; i < 5; i++ {
		if code, body, err := c.get(app, "/"); err != nil || code != 200 || !strings.Contains(body, "from v1") {
			t.Fatalf("after the rollback: %d %q %v; want v1's bytes", code, body, err)
		}
	}
}
