package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// probe tries, as an app, to reach what is not the app's: nonstop's data
// folder, token and store, another app's folders and environment, the
// proxy's control socket, and to leave the control group that caps it;
// and, to show it can tell, its own source and home. It prints REACHED or
// DENIED for each, and its memory control group.
const probe = `#!/bin/sh
try() { what=$1; shift; if "$@" >/dev/null 2>&1; then echo "REACHED $what"; else echo "DENIED $what"; fi; }
try own-source cat nonstop.yaml
try own-home touch "$HOME/written"
try admin.token cat "$DATA/admin.token"
try store cat "$DATA/nonstop.db"
try data-listing ls "$DATA"
try proxy-folder ls "$DATA/proxy"
try other-app-source cat "$DATA/apps/hello/builds/1/src/nonstop.yaml"
try other-app-home ls "$DATA/apps/hello/home"
try other-environ sh -c 'for p in /proc/[0-9]*; do tr "\0" "\n" < $p/environ 2>/dev/null; done | grep -q "VICTIM_SECRET\|SERVER_SECRET"'
try control-socket python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(os.environ["DATA"] + "/proxy/control.sock")
body = b"{\"backends\": [\"127.0.0.1:1\"]}"
s.sendall(b"PUT /routes/hello HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
sys.exit(0 if s.recv(100).split(b" ")[1].startswith(b"2") else 1)
'
try lift-limits sh -c 'for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/memory/cgroup.procs; do [ -e $f ] && echo $$ > $f && exit 0; done; exit 1'
echo "memory cgroup $(grep -E '^[0-9]+:(memory)?:' /proc/self/cgroup | head -1)"
echo "probe done as $(id -un)"
`

// A member's app whose build and run commands try to read nonstop's token
// and store, another team's app's folders and environment, and to re-route
// that app through the proxy's control socket: each attempt is refused, and
// the proof is the app's own output, its build's and its instance's.
func TestIsolation_AnAppReachesNothingButItsOwn(t *testing.T) {
	c := newClusterWith(t, nil, []string{"SERVER_SECRET=of-the-server"})
	c.mustRun("teams", "create", "shop")
	c.mustRun("teams", "create", "blog")
	c.mustRun("apps", "create", "hello", "--team", "blog")
	c.mustRun("deploy", appSource(t, helloSpec("1", "20s", `VICTIM_SECRET: "of-hello"`)), "--app", "hello")
	assertServes(t, c, "1")

	ann := tokenIn(t, c.mustRun("users", "create", "ann", "--team", "shop"))
	if out, code := c.runAs(ann, "apps", "create", "evil", "--team", "shop"); code != 0 {
		t.Fatalf("ann creates her app: %s", out)
	}
	dir := t.TempDir()
	files := map[string]string{
		"probe.sh": probe,
		"nonstop.yaml": `name: evil
build: sh probe.sh
run: sh probe.sh; exec python3 -m http.server --bind 127.0.0.1 $PORT
health:
  path: /
  start_timeout: 20s
resources:
  limits:
    memory: 128Mi
    cpu: 500m
env:
  DATA: "` + c.data + `"
`}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, code := c.runAs(ann, "deploy", dir, "--app", "evil"); code != 0 {
		t.Fatalf("ann deploys her app: exit %d\n%s", code, out)
	}
	buildLog, err := os.ReadFile(filepath.Join(c.data, "apps", "evil", "builds", "1", "build.log"))
	if err != nil {
		t.Fatal(err)
	}
	var runLog string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		runLog, _ = c.runAs(ann, "logs", "evil", "-n", "50")
		if strings.Contains(runLog, "probe done") || time.Now().After(deadline) {
			break
		}
	}
	for what, out := range map[string]string{"build": string(buildLog), "instance": runLog} {
		if !strings.Contains(out, "probe done as nst-") {
			t.Errorf("the %s's probe did not run as an account of its own:\n%s", what, out)
		}
		for _, own := range []string{"own-source", "own-home"} {
			if !strings.Contains(out, "REACHED "+own+"\n") {
				t.Errorf("the %s could not reach its %s:\n%s", what, own, out)
			}
		}
		for _, attempt := range []string{"admin.token", "store", "data-listing", "proxy-folder", "other-app-source", "other-app-home", "other-environ", "control-socket", "lift-limits"} {
			if !strings.Contains(out, "DENIED "+attempt+"\n") {
				t.Errorf("the %s reached %s (want DENIED):\n%s", what, attempt, out)
			}
		}
	}
	// The instance runs in the group that caps it to its limits.
	if !regexp.MustCompile(`memory cgroup [0-9]+:(memory)?:/\S*nonstop/evil-v1-`).MatchString(runLog) {
		t.Errorf("the instance is not in a group of its own under nonstop's:\n%s", runLog)
	}
	t.Logf("build:\n%s\ninstance:\n%s", buildLog, runLog)
	assertServes(t, c, "1") // hello's route is still its own
}
