package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoad_ProcfileWebLineIsRun(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "nonstop.yaml", "name: hello\n")
	writeFile(t, dir, "Procfile", "web: ./server\n")
	s, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if s.Run != "./server" || s.Runtime != RuntimeProcess {
		t.Errorf("run = %q, runtime = %q; want ./server from the Procfile, process", s.Run, s.Runtime)
	}
}

func TestLoad_RunInSpecWinsOverProcfile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "nonstop.yaml", "run: ./app\n")
	writeFile(t, dir, "Procfile", "web: ./server\n")
	s, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if s.Run != "./app" {
		t.Errorf("run = %q, want ./app from nonstop.yaml", s.Run)
	}
}

func TestLoad_NoSpecFileMeansDefaults(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "Procfile", "web: ./server\n")
	s, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if s.Instances != 1 || s.Deploy.Strategy != StrategyRolling || s.Health.StartTimeout != 60*time.Second {
		t.Errorf("spec = %+v, want defaults", s)
	}
}

func TestLoad_DockerfileMakesRuntimeDocker(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "Dockerfile", "FROM scratch\n")
	s, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if s.Runtime != RuntimeDocker {
		t.Errorf("runtime = %q, want docker", s.Runtime)
	}
}

func TestLoad_ProcessWithoutRunSaysHowToFix(t *testing.T) {
	_, err := Load(t.TempDir())
	want := `nonstop.yaml: run: required for the process runtime: add "run:" to nonstop.yaml, or a Procfile with a "web:" line`
	if err == nil || err.Error() != want {
		t.Errorf("Load error = %v, want %s", err, want)
	}
}

func TestLoad_ErrorsNameFileAndLine(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "nonstop.yaml", "run: ./app\ndeploy:\n  max_surge: 0\n")
	_, err := Load(dir)
	if err == nil || !strings.HasPrefix(err.Error(), "nonstop.yaml:3: deploy.max_surge: ") {
		t.Errorf("Load error = %v, want it on nonstop.yaml:3, deploy.max_surge", err)
	}
	writeFile(t, dir, "nonstop.yaml", "run: ./app\nhealth:\n  interval: fast\n")
	_, err = Load(dir)
	if want := `nonstop.yaml:3: health.interval: invalid duration "fast" (use e.g. 1s, 500ms)`; err == nil || err.Error() != want {
		t.Errorf("Load error = %v, want %s", err, want)
	}
}

func TestLoad_UnreadableSpecIsError(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "nonstop.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir)
	if err == nil || !strings.HasPrefix(err.Error(), "read nonstop.yaml: ") {
		t.Errorf("Load error = %v, want read nonstop.yaml: ...", err)
	}
}

func TestLoad_DesignExample(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "nonstop.yaml", designExample)
	s, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if s.Name != "hello" || s.Instances != 2 || len(s.Deploy.Canary.Steps) != 2 {
		t.Errorf("spec = %+v, want the design example", s)
	}
}
