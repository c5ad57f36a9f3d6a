package detect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func source(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDetect_ReadsWhatTheSourceIs(t *testing.T) {
	for name, c := range map[string]struct {
		files map[string]string
		want  string
	}{
		"Node with a lock file and a build": {map[string]string{"package.json": `{"scripts": {"build": "vite build", "start": "node server.js"}}`, "package-lock.json": "{}"},
			"detected Node.js (package.json, package-lock.json): npm ci && npm run build, then npm start"},
		"Node without a lock file, with main": {map[string]string{"package.json": `{"main": "src/app.js"}`},
			"detected Node.js (package.json): npm install, then node src/app.js"},
		"Go": {map[string]string{"go.mod": "module x", "go.sum": "", "main.go": "package main"},
			"detected Go (go.mod, go.sum): go build -o .nonstop-app ., then ./.nonstop-app"},
		"Python WSGI with requirements": {map[string]string{"requirements.txt": "flask\n", "app.py": "from flask import Flask\napp = Flask(__name__)\n"},
			"detected Python (requirements.txt, app.py): python3 -m venv --system-site-packages .venv && .venv/bin/pip install --no-input -r requirements.txt, then .venv/bin/python -m gunicorn --bind 127.0.0.1:$PORT --workers 2 --graceful-timeout 10 app:app"},
		"Python script with vendored wheels": {map[string]string{"requirements.txt": "x\n", "wheels/x-1-py3-none-any.whl": "", "main.py": "print(1)\n"},
			"detected Python (requirements.txt, main.py): python3 -m venv --system-site-packages .venv && .venv/bin/pip install --no-input --find-links wheels -r requirements.txt, then .venv/bin/python main.py"},
		"static site at the root": {map[string]string{"index.html": "<h1>", "style.css": ""},
			"detected static site (index.html): served by nonstop from ./"},
		"static site in dist": {map[string]string{"dist/index.html": "<h1>", "README.md": ""},
			"detected static site (dist/index.html): served by nonstop from dist/"},
		"Ruby rack app": {map[string]string{"config.ru": "run App", "Gemfile": ""},
			"detected Ruby (config.ru, Gemfile): rackup --host 127.0.0.1 --port $PORT"},
		"PHP": {map[string]string{"index.php": "<?php echo 1;"},
			"detected PHP (index.php): php -S 127.0.0.1:$PORT -t ."},
		"Node before its built static site": {map[string]string{"package.json": `{"scripts": {"start": "serve dist"}}`, "dist/index.html": ""},
			"detected Node.js (package.json): npm install, then npm start"},
	} {
		p, err := Detect(source(t, c.files))
		if err != nil || p == nil {
			t.Errorf("%s: %v %v", name, p, err)
			continue
		}
		if got := p.String(); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, c.want)
		}
	}
}

func TestDetect_SaysWhatIsMissingOrUnknown(t *testing.T) {
	if p, err := Detect(source(t, map[string]string{"README.md": "hi"})); p != nil || err != nil {
		t.Errorf("a source of nothing known: %v %v, want nil, nil", p, err)
	}
	if _, err := Detect(source(t, map[string]string{"requirements.txt": "flask"})); err == nil || !strings.Contains(err.Error(), "add a Procfile") {
		t.Errorf("requirements and nothing to run: %v", err)
	}
	if _, err := Detect(source(t, map[string]string{"package.json": "{not json"})); err == nil || !strings.Contains(err.Error(), "package.json") {
		t.Errorf("a broken package.json: %v", err)
	}
	err := Missing([]Tool{{"sh", "dash"}, {"nonstop-no-such-tool", "nonstop-pkg"}})
	if err == nil || !strings.Contains(err.Error(), "apt-get install nonstop-pkg") || strings.Contains(err.Error(), "dash") {
		t.Errorf("a missing tool: %v, want it named with its package, and only it", err)
	}
	if err := Missing([]Tool{{"sh", "dash"}}); err != nil {
		t.Errorf("tools all present: %v", err)
	}
}
