// Package detect works out how to build and run a source that says
// nothing of it (no run: in nonstop.yaml, no web: in a Procfile, no
// Dockerfile) from the files it holds: Node.js (package.json), Go
// (go.mod), Python (requirements.txt, pyproject.toml, app.py, main.py,
// wsgi.py), Ruby (config.ru, app.rb), PHP (index.php) and static sites
// (index.html at the root or in dist/, build/ or public/). It reads files
// only; whether the machine has the toolchain is the build's to check
// (Plan.Needs).
package detect

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// Plan is how a detected source is built and run.
type Plan struct {
	Kind  string   `json:"kind"`  // "Node.js", "Go", "Python", "Ruby", "PHP", "static site"
	Files []string `json:"files"` // what told, e.g. package.json, package-lock.json
	Build string   `json:"build,omitempty"`
	Run   string   `json:"run,omitempty"`
	// Static is, for a static site, the folder nonstop serves itself
	// ("." for the root); Run is empty then.
	Static string `json:"static,omitempty"`
	// Needs are the commands the build and run need on the machine, each
	// with the Debian package that has it.
	Needs []Tool `json:"needs,omitempty"`
}

// Tool is a command a plan needs and the Debian package that installs it.
type Tool struct {
	Command string `json:"command"`
	Package string `json:"package"`
}

// String says what was detected and what runs, as the build log shows it:
// "detected Node.js (package.json, package-lock.json): npm ci, then npm start".
func (p *Plan) String() string {
	what := p.Run
	if p.Static != "" {
		what = "served by nonstop from " + p.Static + "/"
	}
	if p.Build != "" {
		what = p.Build + ", then " + what
	}
	return fmt.Sprintf("detected %s (%s): %s", p.Kind, strings.Join(p.Files, ", "), what)
}

// Detect returns the plan of the source in dir, or nil when nothing in it
// is known.
func Detect(dir string) (*Plan, error) {
	for _, try := range []func(string) (*Plan, error){goPlan, nodePlan, pythonPlan, rubyPlan, phpPlan, staticPlan} {
		p, err := try(dir)
		if err != nil || p != nil {
			return p, err
		}
	}
	return nil, nil
}

func has(dir, name string) bool {
	fi, err := os.Stat(filepath.Join(dir, name))
	return err == nil && !fi.IsDir()
}

func read(dir, name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

var (
	goTool      = Tool{"go", "golang-go"}
	nodeTool    = Tool{"node", "nodejs"}
	npmTool     = Tool{"npm", "npm"}
	pythonTool  = Tool{"python3", "python3-venv"}
	gunicorn    = Tool{"gunicorn", "gunicorn"}
	rubyTool    = Tool{"ruby", "ruby"}
	rackupTool  = Tool{"rackup", "ruby-rack"}
	phpTool     = Tool{"php", "php-cli"}
	binaryName  = ".nonstop-app" // what a Go build makes
	venv        = ".venv"        // a Python source's virtualenv, made by its build
	pyVenvBuild = "python3 -m venv --system-site-packages " + venv
)

func goPlan(dir string) (*Plan, error) {
	if !has(dir, "go.mod") {
		return nil, nil
	}
	files := []string{"go.mod"}
	if has(dir, "go.sum") {
		files = append(files, "go.sum")
	}
	return &Plan{Kind: "Go", Files: files, Build: "go build -o " + binaryName + " .", Run: "./" + binaryName, Needs: []Tool{goTool}}, nil
}

// packageJSON is what a Node.js plan reads of package.json.
type packageJSON struct {
	Main    string            `json:"main"`
	Scripts map[string]string `json:"scripts"`
}

func nodePlan(dir string) (*Plan, error) {
	b, err := read(dir, "package.json")
	if err != nil || b == nil {
		return nil, err
	}
	var pkg packageJSON
	if err := json.Unmarshal(b, &pkg); err != nil {
		return nil, fmt.Errorf("package.json: %w", err)
	}
	p := &Plan{Kind: "Node.js", Files: []string{"package.json"}, Needs: []Tool{nodeTool, npmTool}}
	install := "npm install"
	for _, lock := range []string{"package-lock.json", "npm-shrinkwrap.json"} {
		if has(dir, lock) {
			p.Files, install = append(p.Files, lock), "npm ci"
			break
		}
	}
	p.Build = install
	if pkg.Scripts["build"] != "" {
		p.Build += " && npm run build"
	}
	switch {
	case pkg.Scripts["start"] != "":
		p.Run = "npm start"
	case pkg.Main != "":
		p.Run = "node " + shellQuote(pkg.Main)
	case has(dir, "server.js"):
		p.Run = "node server.js"
	default:
		p.Run = "node index.js"
	}
	return p, nil
}

// wsgiApp finds a module-level WSGI callable: "app = Flask(...)",
// "application = get_wsgi_application()".
var wsgiApp = regexp.MustCompile(`(?m)^(app|application)\s*=`)

// gunicornReq is a requirements line that installs gunicorn.
var gunicornReq = regexp.MustCompile(`(?im)^\s*gunicorn\b`)

func pythonPlan(dir string) (*Plan, error) {
	var files []string
	build := ""
	switch {
	case has(dir, "requirements.txt"):
		files = append(files, "requirements.txt")
		build = pyVenvBuild + " && " + venv + "/bin/pip install --no-input" + wheels(dir) + " -r requirements.txt"
	case has(dir, "pyproject.toml"):
		files = append(files, "pyproject.toml")
		build = pyVenvBuild + " && " + venv + "/bin/pip install --no-input" + wheels(dir) + " ."
	}
	for _, mod := range []string{"wsgi", "app", "main"} {
		b, err := read(dir, mod+".py")
		if err != nil {
			return nil, err
		}
		if b == nil {
			continue
		}
		if build == "" {
			build = pyVenvBuild
		}
		p := &Plan{Kind: "Python", Files: append(files, mod+".py"), Build: build, Needs: []Tool{pythonTool}}
		if m := wsgiApp.FindSubmatch(b); m != nil {
			// The virtualenv's python runs gunicorn: the requirements' own,
			// else the machine's (the venv sees its system packages).
			p.Run = venv + "/bin/python -m gunicorn --bind 127.0.0.1:$PORT --workers 2 --graceful-timeout 10 " + mod + ":" + string(m[1])
			if reqs, _ := read(dir, "requirements.txt"); !gunicornReq.Match(reqs) {
				p.Needs = append(p.Needs, gunicorn)
			}
			return p, nil
		}
		p.Run = venv + "/bin/python " + mod + ".py"
		return p, nil
	}
	if files != nil {
		return nil, fmt.Errorf("Python (%s) with nothing to run: add a Procfile with a web: line, or an app.py or main.py", strings.Join(files, ", "))
	}
	return nil, nil
}

// wheels points pip at a source's own wheels/ folder when it has one, so
// that it installs without an index.
func wheels(dir string) string {
	if fi, err := os.Stat(filepath.Join(dir, "wheels")); err == nil && fi.IsDir() {
		return " --find-links wheels"
	}
	return ""
}

func rubyPlan(dir string) (*Plan, error) {
	switch {
	case has(dir, "config.ru"):
		p := &Plan{Kind: "Ruby", Files: []string{"config.ru"}, Run: "rackup --host 127.0.0.1 --port $PORT", Needs: []Tool{rubyTool, rackupTool}}
		if has(dir, "Gemfile") {
			p.Files = append(p.Files, "Gemfile")
		}
		return p, nil
	case has(dir, "app.rb"):
		return &Plan{Kind: "Ruby", Files: []string{"app.rb"}, Run: "ruby app.rb", Needs: []Tool{rubyTool}}, nil
	}
	return nil, nil
}

func phpPlan(dir string) (*Plan, error) {
	if !has(dir, "index.php") {
		return nil, nil
	}
	return &Plan{Kind: "PHP", Files: []string{"index.php"}, Run: "php -S 127.0.0.1:$PORT -t .", Needs: []Tool{phpTool}}, nil
}

func staticPlan(dir string) (*Plan, error) {
	for _, root := range []string{".", "dist", "build", "public"} {
		if has(dir, filepath.Join(root, "index.html")) {
			return &Plan{Kind: "static site", Files: []string{filepath.ToSlash(filepath.Join(root, "index.html"))}, Static: root}, nil
		}
	}
	return nil, nil
}

// plainPath is what a shell takes as it is.
var plainPath = regexp.MustCompile(`^[A-Za-z0-9_./-]+$`)

// shellQuote quotes s for sh when it holds anything but a plain path.
func shellQuote(s string) string {
	if plainPath.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Missing returns an error naming the packages to install for the tools
// of needs that this machine does not have; nil when it has them all.
func Missing(needs []Tool) error {
	var cmds, pkgs []string
	for _, t := range needs {
		if _, err := exec.LookPath(t.Command); err != nil {
			cmds, pkgs = append(cmds, t.Command), append(pkgs, t.Package)
		}
	}
	if len(cmds) == 0 {
		return nil
	}
	return fmt.Errorf("this machine has no %s: install it (apt-get install %s)", strings.Join(cmds, ", "), strings.Join(pkgs, " "))
}
