package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/loadgen"
)

// schemaApp answers / from a SQLite database in its volume, and only
// against the schema its version was written for: old code meeting a new
// schema answers 500, as a real app's broken query would.
const schemaApp = `import os, sqlite3, http.server, socketserver
VERSION, SCHEMA = "%s", %d
DB = os.path.join(os.environ["NONSTOP_VOLUME_DB"], "app.db")

class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path == "/healthz":
            return self.answer(200, "ok")
        with sqlite3.connect(DB) as db:
            have = db.execute("SELECT schema FROM meta").fetchone()[0]
        if have != SCHEMA:
            return self.answer(500, "v%%s code against schema %%d" %% (VERSION, have))
        self.answer(200, "from v%%s on schema %%d" %% (VERSION, have))
    def answer(self, code, text):
        body = (text + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

print("v%%s listening" %% VERSION, flush=True)
S(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`

// migration moves the database to its schema, slowly (a real migration
// takes a while: without a hold, old code would serve against it).
const migration = `import os, sqlite3, sys, time
DB = os.path.join(os.environ["NONSTOP_VOLUME_DB"], "app.db")
if %s:
    print("migration to schema %d: the new column clashes", flush=True)
    sys.exit(1)
with sqlite3.connect(DB) as db:
    db.execute("CREATE TABLE IF NOT EXISTS meta (schema INTEGER)")
    if db.execute("SELECT COUNT(*) FROM meta").fetchone()[0] == 0:
        db.execute("INSERT INTO meta VALUES (0)")
    time.sleep(%g)
    db.execute("UPDATE meta SET schema = %d")
print("migrated to schema %d", flush=True)
`

func schemaSource(t *testing.T, version string, schema int, fail bool, hold string) string {
	t.Helper()
	dir := t.TempDir()
	holdLine := ""
	if hold != "" {
		holdLine = "release_hold: " + hold + "\n"
	}
	files := map[string]string{
		"app.py":     fmt.Sprintf(schemaApp, version, schema),
		"migrate.py": fmt.Sprintf(migration, map[bool]string{true: "True", false: "False"}[fail], schema, 2.0, schema, schema),
		"nonstop.yaml": `name: ledger
run: exec python3 app.py
release: python3 migrate.py
` + holdLine + `instances: 2
health:
  path: /healthz
  interval: 200ms
  start_timeout: 20s
deploy:
  strategy: rolling
  max_surge: 2
  drain_timeout: 10s
  stop_timeout: 3s
volumes:
  - name: db
    path: /data
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A release phase that changes the SQLite schema the app reads, run once
// per release before its instances take traffic: with release_hold, under
// load, not one request fails and none is answered by old code against
// the new schema; a failing release phase refuses its release and the live
// one serves on.
func TestReleasePhase_AMigrationWithRequestsHeldMeetsNoOldCode(t *testing.T) {
	c := newCluster(t)
	c.mustRun("apps", "create", "ledger")
	out := c.mustRun("deploy", schemaSource(t, "1", 1, false, ""))
	for _, want := range []string{"release phase of v1: python3 migrate.py", "release phase: migrated to schema 1", "release phase of v1 done", "v1 is live"} {
		if !strings.Contains(out, want) {
			t.Fatalf("the first deploy lacks %q:\n%s", want, out)
		}
	}
	wantAnswer(t, c, "ledger", 200, "from v1 on schema 1")

	load := loadgen.Start(context.Background(), loadgen.Config{URL: "http://" + c.http, Host: "ledger.localhost", Workers: 4, MaxDuration: 5 * time.Minute})
	defer load.Stop()
	time.Sleep(time.Second)
	out = c.mustRun("deploy", schemaSource(t, "2", 2, false, "30s"))
	for _, want := range []string{"holding ledger's requests (at most 30s each) for the release phase of v2", "release phase: migrated to schema 2", "held requests let through", "v2 is live"} {
		if !strings.Contains(out, want) {
			t.Errorf("the deploy with a held migration lacks %q:\n%s", want, out)
		}
	}
	time.Sleep(time.Second)
	res := load.Snapshot()
	t.Logf("during the held migration: sent %d, failed %d", res.Sent, res.Failed)
	if res.Failed != 0 {
		t.Fatalf("%d requests failed across the migration (old code against the new schema answers 500): %v", res.Failed, res.Errors)
	}
	wantAnswer(t, c, "ledger", 200, "from v2 on schema 2")

	// A migration that fails: its release refused, v2 serves on, on its schema.
	out, code := c.run("deploy", schemaSource(t, "3", 3, true, "30s"))
	if code == 0 || !strings.Contains(out, "release phase of v3") || !strings.Contains(out, "exit code 1") || !strings.Contains(out, "the new column clashes") {
		t.Fatalf("a failing release phase: exit %d\n%s", code, out)
	}
	time.Sleep(time.Second)
	res = load.Stop()
	t.Logf("load: sent %d, failed %d", res.Sent, res.Failed)
	if res.Failed != 0 {
		t.Fatalf("%d requests failed around the failed release phase: %v", res.Failed, res.Errors)
	}
	wantAnswer(t, c, "ledger", 200, "from v2 on schema 2")
	if st := c.mustRun("status", "ledger"); !strings.Contains(st, "live:     v2") {
		t.Errorf("status after the failed release phase:\n%s", st)
	}
}
