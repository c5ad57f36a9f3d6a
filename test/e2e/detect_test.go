package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/loadgen"
	"github.com/nonstopdev/nonstop/internal/wire"
)

// detected are sources with no nonstop.yaml and no Procfile, as people
// bring them, each answering "VERSION" at / (the word is replaced).
var detected = map[string]struct {
	files map[string]string
	kind  string // what the build log says was detected
}{
	"node-shop": {map[string]string{
		"package.json": `{"name": "node-shop", "private": true, "scripts": {"start": "node server.js"}, "dependencies": {"express": "^4.21.0"}}`,
		"server.js": `const express = require("express");
const app = express();
app.get("/", (req, res) => res.send("node VERSION\n"));
const server = app.listen(process.env.PORT, "127.0.0.1", () => console.log("listening on " + process.env.PORT));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`}, "detected Node.js (package.json): npm install, then npm start"},
	"py-shop": {map[string]string{
		"requirements.txt": "flask\n",
		"app.py": `from flask import Flask
app = Flask(__name__)

@app.get("/")
def home():
    return "python VERSION\n"
`}, "detected Python (requirements.txt, app.py)"},
	"go-shop": {map[string]string{
		"go.mod": "module goshop\n\ngo 1.22\n",
		"main.go": `package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	srv := &http.Server{Addr: "127.0.0.1:" + os.Getenv("PORT"), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "go VERSION")
	})}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		<-sig
		srv.Shutdown(context.Background())
	}()
	srv.ListenAndServe()
}
`}, "detected Go (go.mod): go build -o .nonstop-app ., then ./.nonstop-app"},
	"site": {map[string]string{
		"public/index.html": "<!doctype html><h1>static VERSION</h1>\n",
		"public/style.css":  strings.Repeat("h1 { color: #123456 }\n", 100),
	}, "detected static site (public/index.html): served by nonstop from public/"},
}

// sourceAt writes an app's files, at a version, into parent/name.
func sourceAt(t *testing.T, parent, name, version string) string {
	t.Helper()
	dir := filepath.Join(parent, name)
	for file, body := range detected[name].files {
		p := filepath.Join(dir, file)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(body, "VERSION", version)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// zipOfFolder zips a source as GitHub's "Download ZIP" does: inside a
// folder of its own.
func zipOfFolder(t *testing.T, name, version string) []byte {
	t.Helper()
	files := map[string]string{}
	for file, body := range detected[name].files {
		files[name+"-main/"+file] = strings.ReplaceAll(body, "VERSION", version)
	}
	return zipOf(t, files)
}

// Sources of each kind that nonstop detects, with no configuration: each
// deployed from its folder by the CLI (the folder's name is the app's),
// then from a zip of one folder, under load: not one failed request. The
// build log says what was detected, and status shows it.
func TestDetect_EachKindDeploysWithNoConfigurationUnderLoad(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	for _, name := range []string{"site", "go-shop", "py-shop", "node-shop"} {
		t.Run(name, func(t *testing.T) {
			c.mustRun("apps", "create", name)
			out := c.mustRun("deploy", sourceAt(t, t.TempDir(), name, "v1"))
			for _, want := range []string{"app " + name + ", the folder's name", detected[name].kind, "v1 is live"} {
				if !strings.Contains(out, want) {
					t.Fatalf("deploy of the %s folder lacks %q:\n%s", name, want, out)
				}
			}
			wantAnswer(t, c, name, 200, "v1")
			if st := c.mustRun("status", name); !strings.Contains(st, "source:   "+detected[name].kind) {
				t.Errorf("status does not say what was detected:\n%s", st)
			}

			load := loadgen.Start(ctx, loadgen.Config{URL: "http://" + c.http, Host: name + ".localhost", Workers: 3, MaxDuration: 5 * time.Minute})
			defer load.Stop()
			ro, err := c.client().Deploy(ctx, name, bytes.NewReader(zipOfFolder(t, name, "v2")), "")
			if err != nil {
				t.Fatalf("deploy of a zip of one folder: %v", err)
			}
			fctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
			defer cancel()
			end, err := c.client().Follow(fctx, name, ro.ID, func(wire.Event) {})
			if err != nil || end.State != wire.RolloutDone {
				t.Fatalf("the zip's rollout: %+v %v", end, err)
			}
			wantAnswer(t, c, name, 200, "v2")
			time.Sleep(time.Second)
			res := load.Stop()
			t.Logf("%s redeployed from a zip under load: sent %d, failed %d, versions %s", name, res.Sent, res.Failed, res.VersionList())
			if res.Failed != 0 || res.Sent == 0 {
				t.Fatalf("%d of %d requests failed while %s was redeployed: %v", res.Failed, res.Sent, name, res.Errors)
			}
		})
	}

	// The static site's bytes and headers, as nonstop serves them.
	req, _ := http.NewRequest("GET", "http://"+c.http+"/style.css", nil)
	req.Host = "site.localhost"
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatalf("the site's stylesheet is not gzipped: %v (%v)", err, resp.Header)
	}
	css, _ := io.ReadAll(zr)
	if string(css) != detected["site"].files["public/style.css"] || resp.Header.Get("Cache-Control") == "" || resp.Header.Get("ETag") == "" {
		t.Errorf("the site's stylesheet: %d bytes, headers %v; want its bytes, cached, with an ETag", len(css), resp.Header)
	}
}
