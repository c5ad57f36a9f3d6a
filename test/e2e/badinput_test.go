package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nonstopdev/nonstop/internal/client"
)

// Bad input gets a clear error that names the problem, and nothing is
// written or changed: no build, no release, no rollout, the live release
// still serving.
func TestBadInput_ClearErrorsAndNothingChanges(t *testing.T) {
	c := newCluster(t)
	c.mustRun("apps", "create", "hello")
	c.mustRun("deploy", appSource(t, helloSpec("1", "20s")))
	ctx := context.Background()
	before := snapshot(t, c)

	t.Run("malformed nonstop.yaml names the key and the line", func(t *testing.T) {
		bad := strings.Replace(helloSpec("2", "20s"), "instances: 2", "instances: two\nhelth: {}", 1)
		out, code := c.run("deploy", appSource(t, bad))
		if code == 0 {
			t.Fatalf("deploy exited 0:\n%s", out)
		}
		for _, want := range []string{"nonstop.yaml:4: instances", `"two"`, `nonstop.yaml:5: unknown key "helth"`} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		// The server checks too, for clients other than the CLI.
		_, err := c.client().Deploy(ctx, "hello", tarGz(t, map[string]string{"nonstop.yaml": bad, "main.go": "package main"}), "")
		if client.StatusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "nonstop.yaml:4") {
			t.Errorf("API answer to a malformed spec: %v", err)
		}
	})

	t.Run("an archive with a path escaping its folder is refused", func(t *testing.T) {
		outside := filepath.Join(c.data, "tmp", "evil.txt")
		_, err := c.client().Deploy(ctx, "hello", tarGz(t, map[string]string{"../evil.txt": "pwned", "nonstop.yaml": helloSpec("2", "20s")}), "")
		if client.StatusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "../evil.txt") {
			t.Errorf("API answer to a zip-slip archive: %v", err)
		}
		if _, err := os.Stat(outside); err == nil {
			t.Errorf("%s was written outside the upload folder", outside)
		}
		abs := tarGz(t, map[string]string{"/etc/nonstop-evil": "pwned"})
		if _, err := c.client().Deploy(ctx, "hello", abs, ""); client.StatusOf(err) != http.StatusBadRequest {
			t.Errorf("API answer to an absolute path: %v", err)
		}
		if _, err := os.Stat("/etc/nonstop-evil"); err == nil {
			t.Error("an absolute path was written")
		}
		if _, err := c.client().Deploy(ctx, "hello", strings.NewReader("not an archive"), ""); client.StatusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "not a tar.gz or zip") {
			t.Errorf("API answer to garbage: %v", err)
		}
	})

	t.Run("a wrong token is refused", func(t *testing.T) {
		bad := client.New("http://"+c.api, "nst_wrongwrongwrongwrongwrongwrongwr")
		_, err := bad.Apps(ctx)
		if client.StatusOf(err) != http.StatusUnauthorized || !strings.Contains(err.Error(), "invalid token") {
			t.Errorf("wrong token: %v", err)
		}
		_, err = bad.Deploy(ctx, "hello", tarGz(t, map[string]string{"nonstop.yaml": helloSpec("2", "20s")}), "")
		if client.StatusOf(err) != http.StatusUnauthorized {
			t.Errorf("deploy with a wrong token: %v", err)
		}
		none := client.New("http://"+c.api, "")
		if _, err := none.Apps(ctx); client.StatusOf(err) != http.StatusUnauthorized || !strings.Contains(err.Error(), "missing token") {
			t.Errorf("no token: %v", err)
		}
		out, code := c.run("--token", "nst_nope", "status", "hello")
		if code == 0 || !strings.Contains(out, "invalid token") || !strings.Contains(out, "nonstop login") {
			t.Errorf("CLI with a wrong token: exit %d\n%s", code, out)
		}
	})

	t.Run("an unknown app is named", func(t *testing.T) {
		out, code := c.run("status", "nope")
		if code == 0 || !strings.Contains(out, `app "nope"`) || !strings.Contains(out, "not found") {
			t.Errorf("status of an unknown app: exit %d\n%s", code, out)
		}
		out, code = c.run("deploy", "--app", "nope", appSource(t, strings.Replace(helloSpec("2", "20s"), "name: hello\n", "", 1)))
		if code == 0 || !strings.Contains(out, `app "nope"`) {
			t.Errorf("deploy to an unknown app: exit %d\n%s", code, out)
		}
		if _, err := c.client().Rollback(ctx, "nope", ""); client.StatusOf(err) != http.StatusNotFound {
			t.Errorf("rollback of an unknown app: %v", err)
		}
	})

	after := snapshot(t, c)
	if before != after {
		t.Errorf("bad input changed state:\nbefore %s\nafter  %s", before, after)
	}
	assertServes(t, c, "1")
}

// snapshot summarises what bad input must not change.
func snapshot(t *testing.T, c *cluster) string {
	t.Helper()
	ctx := context.Background()
	rels, err := c.client().Releases(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := c.client().Rollouts(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	builds, _ := os.ReadDir(filepath.Join(c.data, "apps", "hello", "builds"))
	tmp, _ := os.ReadDir(filepath.Join(c.data, "tmp"))
	apps, _ := c.client().Apps(ctx)
	var statuses []string
	for _, r := range rels {
		statuses = append(statuses, string(r.Status))
	}
	return fmt.Sprintf("releases=%v rollouts=%d builds=%d uploads=%d apps=%d", statuses, len(rs), len(builds), len(tmp), len(apps))
}

// tarGz builds an archive in memory with exactly the given entries.
func tarGz(t *testing.T, files map[string]string) *bytes.Reader {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	return bytes.NewReader(buf.Bytes())
}
