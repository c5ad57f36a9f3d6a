package docker

import (
	"errors"
	"net"
	"slices"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

func TestNew_FailsNamingTheUnreachableSocket(t *testing.T) {
	_, err := New(t.Context(), Options{Host: "unix:///nonexistent/docker.sock"})
	if err == nil {
		t.Fatal("New on a missing socket: want an error")
	}
	for _, want := range []string{"Docker Engine not reachable at unix:///nonexistent/docker.sock", "scripts/docker.sh"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q: want it to say %q", err, want)
		}
	}
}

func TestStart_PublishesTheContainerPortOnLoopback(t *testing.T) {
	rt := newRuntime(t)
	if rt.Name() != "docker" {
		t.Errorf("name %q, want docker", rt.Name())
	}
	spec := testSpec("publish")
	spec.Release = 7
	spec.Port = 9090
	spec.Env = map[string]string{"GREETING": "hi", "PORT": "1"}
	inst := start(t, rt, spec)

	host, port, err := net.SplitHostPort(inst.Addr)
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("addr %q: want 127.0.0.1 and a port", inst.Addr)
	}
	if inst.ID != spec.ID || inst.App != testApp || inst.Release != 7 || inst.PID <= 0 || inst.StartedAt.IsZero() {
		t.Errorf("instance %+v: want its id, app, release 7, a pid and a start time", inst)
	}
	if body := waitServing(t, inst.Addr, "/"); body != "hello port=9090 greeting=hi\n" {
		t.Errorf("GET /: %q, want the app to listen on PORT=9090 with GREETING", body)
	}

	ins := inspect(t, spec.ID)
	if ins.Name != "/nonstop-"+spec.ID {
		t.Errorf("container name %q, want /nonstop-%s", ins.Name, spec.ID)
	}
	wantLabels := map[string]string{LabelManaged: "true", LabelApp: testApp, LabelRelease: "7", LabelInstance: spec.ID, LabelPort: "9090", LabelAddr: inst.Addr}
	for k, v := range wantLabels {
		if got := ins.Config.Labels[k]; got != v {
			t.Errorf("label %s=%q, want %q", k, got, v)
		}
	}
	if p := ins.HostConfig.RestartPolicy.Name; p != container.RestartPolicyUnlessStopped {
		t.Errorf("restart policy %q, want unless-stopped", p)
	}
	for _, b := range ins.NetworkSettings.Ports["9090/tcp"] {
		if b.HostIP != "127.0.0.1" || b.HostPort != port {
			t.Errorf("port 9090 published on %s:%s, want 127.0.0.1:%s only", b.HostIP, b.HostPort, port)
		}
	}
}

func TestStart_DefaultsToContainerPort8080(t *testing.T) {
	rt := newRuntime(t)
	inst := start(t, rt, testSpec("default-port"))
	if body := waitServing(t, inst.Addr, "/"); !strings.HasPrefix(body, "hello port=8080 ") {
		t.Errorf("GET /: %q, want PORT=8080", body)
	}
}

func TestStart_AppliesTheLimitsToTheContainer(t *testing.T) {
	rt := newRuntime(t)
	spec := testSpec("limits")
	spec.Limits = runtime.Limits{NanoCPUs: 500_000_000, MemoryBytes: 256 << 20}
	inst := start(t, rt, spec)
	waitServing(t, inst.Addr, "/healthz")
	hc := inspect(t, spec.ID).HostConfig
	if hc.NanoCPUs != 500_000_000 || hc.Memory != 256<<20 || hc.MemorySwap != 256<<20 {
		t.Errorf("NanoCPUs %d, Memory %d, MemorySwap %d: want 500000000, 268435456 and 268435456",
			hc.NanoCPUs, hc.Memory, hc.MemorySwap)
	}

	free := testSpec("no-limits")
	start(t, rt, free)
	hc = inspect(t, free.ID).HostConfig
	if hc.NanoCPUs != 0 || hc.Memory != 0 || hc.MemorySwap != 0 {
		t.Errorf("without limits: NanoCPUs %d, Memory %d, MemorySwap %d: want all 0", hc.NanoCPUs, hc.Memory, hc.MemorySwap)
	}
}

func TestStart_FailureLeavesNothingBehind(t *testing.T) {
	rt := newRuntime(t)
	for name, image := range map[string]string{
		"broken":  brokenImage,                       // created, then fails to start
		"missing": "nonstop-docker-test:no-such-tag", // fails to be created
	} {
		spec := testSpec(name)
		spec.Image = image
		removeAtEnd(t, spec.ID)
		if _, err := rt.Start(t.Context(), spec); err == nil {
			t.Errorf("start with image %s: want an error", image)
		}
		if _, err := engine.cli.ContainerInspect(t.Context(), containerName(spec.ID)); !cerrdefs.IsNotFound(err) {
			t.Errorf("container after a failed start with image %s: %v, want none", image, err)
		}
		if _, err := rt.Status(t.Context(), spec.ID); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("status after a failed start: %v, want ErrNotFound", err)
		}
	}
	for _, id := range []string{"", "../escape", "-flag", "a b"} {
		spec := testSpec("x")
		spec.ID = id
		if _, err := rt.Start(t.Context(), spec); err == nil {
			t.Errorf("start with id %q: want an error", id)
		}
	}
}

func TestStart_RefusesARunningIDAndReplacesAStoppedOne(t *testing.T) {
	rt := newRuntime(t)
	spec := testSpec("dup")
	first := start(t, rt, spec)
	if _, err := rt.Start(t.Context(), spec); !errors.Is(err, ErrRunning) {
		t.Fatalf("second start: %v, want ErrRunning", err)
	}
	if _, err := newRuntime(t).Start(t.Context(), spec); !errors.Is(err, ErrRunning) {
		t.Fatalf("start by another runtime: %v, want ErrRunning", err)
	}
	waitServing(t, first.Addr, "/healthz")

	if err := rt.Stop(t.Context(), spec.ID, 0); err != nil {
		t.Fatal(err)
	}
	spec.Env = map[string]string{"GREETING": "again"}
	again := start(t, rt, spec)
	if body := waitServing(t, again.Addr, "/"); !strings.Contains(body, "greeting=again") {
		t.Errorf("GET / of the replacement: %q", body)
	}
}

func TestStart_ACrashedInstanceIsRestartedOnTheSameAddress(t *testing.T) {
	rt := newRuntime(t)
	spec := testSpec("crash")
	inst := start(t, rt, spec)
	waitServing(t, inst.Addr, "/healthz")
	for i := 1; i <= 2; i++ {
		get(inst.Addr, "/crash")
		waitFor(t, "a restart", func() bool { return status(t, rt, spec.ID).Restarts >= i })
		if body := waitServing(t, inst.Addr, "/"); !strings.HasPrefix(body, "hello") {
			t.Fatalf("GET / after restart %d: %q", i, body)
		}
	}
	st := status(t, rt, spec.ID)
	if st.State != runtime.StateRunning || st.Restarts != 2 || st.LastExit.IsZero() {
		t.Errorf("status %+v: want running, 2 restarts, a last exit", st)
	}
	waitLog(t, rt, spec.ID, "crashing as asked\nlistening on :8080\ncrashing as asked\nlistening on :8080\n")
}

func TestStart_ACrashAtStartIsReportedRestartingWithItsLogs(t *testing.T) {
	rt := newRuntime(t)
	spec := testSpec("crash-at-start")
	spec.Env = map[string]string{"CRASH_AT_START": "no database"}
	start(t, rt, spec) // Start does not wait for health: the container exists

	var st runtime.Status
	waitFor(t, "restarting after a crash", func() bool {
		st = status(t, rt, spec.ID)
		return st.State == runtime.StateRestarting && st.Restarts >= 2
	})
	if st.ExitCode != 3 || st.LastExit.IsZero() || st.PID != 0 {
		t.Errorf("status %+v: want exit code 3, a last exit, no pid", st)
	}
	if out := logText(t, rt, spec.ID, 2); out != "fatal: crashing at start: no database\nfatal: crashing at start: no database\n" {
		t.Errorf("last 2 log lines %q: want the message of each crash", out)
	}

	if err := rt.Stop(t.Context(), spec.ID, 0); err != nil {
		t.Fatal(err)
	}
	if st := status(t, rt, spec.ID); st.State != runtime.StateExited {
		t.Errorf("status after stop %+v: want exited", st)
	}
	waitLog(t, rt, spec.ID, "fatal: crashing at start: no database\n")
}

func TestStart_AContainerGainsNoPrivilegeAndKeepsOnlyAWebServersCapabilities(t *testing.T) {
	rt := newRuntime(t)
	spec := testSpec("hardened")
	inst := start(t, rt, spec)
	waitServing(t, inst.Addr, "/healthz") // it still serves
	hc := inspect(t, spec.ID).HostConfig
	if !slices.Contains(hc.SecurityOpt, "no-new-privileges:true") {
		t.Errorf("SecurityOpt %v: want no-new-privileges", hc.SecurityOpt)
	}
	if !slices.Equal(hc.CapDrop, []string{"ALL"}) {
		t.Errorf("CapDrop %v: want ALL", hc.CapDrop)
	}
	for _, c := range hc.CapAdd {
		if !slices.Contains(webServerCaps, strings.TrimPrefix(c, "CAP_")) {
			t.Errorf("capability %s added: not one a web server needs", c)
		}
	}
	if len(hc.CapAdd) != len(webServerCaps) {
		t.Errorf("CapAdd %v: want exactly %v", hc.CapAdd, webServerCaps)
	}
	if hc.PidsLimit == nil || *hc.PidsLimit != pidsLimit {
		t.Errorf("PidsLimit %v: want %d", hc.PidsLimit, pidsLimit)
	}
}
