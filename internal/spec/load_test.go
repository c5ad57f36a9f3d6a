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
	want := `nonstop.yaml: run: required for the process runtime, and nothing in the source tells how to run it (no package.json, go.mod, requirements.txt, app.py, index.html...): add "run:" to nonstop.yaml, or a Procfile with a "web:" line`
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

// A source that says nothing of how it runs is detected; nonstop.yaml and
// a Procfile always win over what is detected.
func TestLoad_DetectsTheSourceUnlessNonstopYAMLOrAProcfileSays(t *testing.T) {
	write := func(files map[string]string) string {
		dir := t.TempDir()
		for name, body := range files {
			os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	node := map[string]string{"package.json": `{"scripts": {"start": "node server.js"}}`}
	sp, err := Load(write(node))
	if err != nil || sp.Detected == nil || sp.Detected.Kind != "Node.js" || sp.Run != "npm start" || sp.Build != "npm install" {
		t.Fatalf("a Node source: %+v %v, want detected, npm install then npm start", sp, err)
	}
	node["Procfile"] = "web: node other.js\n"
	if sp, err := Load(write(node)); err != nil || sp.Detected != nil || sp.Run != "node other.js" {
		t.Errorf("a Procfile beside package.json: %+v %v, want the Procfile's run, nothing detected", sp, err)
	}
	delete(node, "Procfile")
	node[FileName] = "run: node mine.js\nbuild: npm ci --omit=dev\n"
	if sp, err := Load(write(node)); err != nil || sp.Detected != nil || sp.Run != "node mine.js" || sp.Build != "npm ci --omit=dev" {
		t.Errorf("nonstop.yaml's run: %+v %v, want its run and build", sp, err)
	}
	node[FileName] = "health:\n  path: /up\n"
	if sp, err := Load(write(node)); err != nil || sp.Detected == nil || sp.Run != "npm start" || sp.Health.Path != "/up" {
		t.Errorf("nonstop.yaml without run: %+v %v, want its health and the detected run", sp, err)
	}
	site, err := Load(write(map[string]string{"public/index.html": "<h1>hi</h1>"}))
	if err != nil || site.Static != "public" || site.Run != "" {
		t.Errorf("a static site: %+v %v, want public served", site, err)
	}
	if _, err := Load(write(map[string]string{FileName: "static: ../elsewhere\n"})); err == nil || !strings.Contains(err.Error(), "static") {
		t.Errorf("static: out of the source: %v, want it refused", err)
	}
	if sp, err := Load(write(map[string]string{"go.mod": "module x", "Dockerfile": "FROM scratch"})); err != nil || sp.Detected != nil || sp.Runtime != RuntimeDocker {
		t.Errorf("a Dockerfile beside go.mod: %+v %v, want the docker runtime, nothing detected", sp, err)
	}
}

// The release phase comes from nonstop.yaml, else the Procfile's
// release: line; its hold needs it and is bounded.
func TestLoad_TheReleasePhaseAndItsHold(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "Procfile", "web: ./server\nrelease: ./migrate up\n")
	sp, err := Load(dir)
	if err != nil || sp.Release != "./migrate up" {
		t.Fatalf("a Procfile's release line: %+v %v", sp, err)
	}
	writeFile(t, dir, FileName, "release: ./other\nrelease_hold: 30s\n")
	if sp, err := Load(dir); err != nil || sp.Release != "./other" || sp.ReleaseHold != 30*time.Second {
		t.Errorf("nonstop.yaml's release: %+v %v, want it over the Procfile's, held 30s", sp, err)
	}
	for yaml, want := range map[string]string{
		"run: ./app\nrelease_hold: 30s\n":            "release_hold: holds requests while the release phase runs",
		"run: ./app\nrelease: x\nrelease_hold: 1h\n": "release_hold: must be from 0 to 10m",
		"runtime: docker\nrelease: ./migrate\n":      "release: the release phase runs on the process runtime only",
	} {
		d := t.TempDir()
		writeFile(t, d, FileName, yaml)
		if _, err := Load(d); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", yaml, err, want)
		}
	}
}
