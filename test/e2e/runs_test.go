package e2e

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/client"
)

// One rollout per app at a time: webhooks that come while a deploy runs
// queue, a newer commit supersedes the queued one, a queued run can be
// cancelled, and a running one too (its rollout rolls back).
func TestRuns_QueueSupersedeAndCancel(t *testing.T) {
	c := newCluster(t)
	g := newGitRepo(t)
	c.mustRun("apps", "create", "hello")
	c.mustRun("apps", "set", "hello", "--repo", g.url())
	out := c.mustRun("apps", "webhook", "hello")
	secret := strings.TrimSpace(out[strings.Index(out, "secret: ")+len("secret: "):])
	push := func(sha string) int {
		body := []byte(fmt.Sprintf(`{"ref":"refs/heads/main","commit":"%s","repository":"%s"}`, sha, g.url()))
		code, resp := c.hookPost("generic", "hello", body, map[string]string{"X-Nonstop-Signature": "sha256=" + hmacHex(secret, body)})
		if code != 202 {
			t.Fatalf("webhook: %d %s", code, resp)
		}
		var n int
		fmt.Sscanf(resp[strings.Index(resp, `"run":`)+6:], "%d", &n)
		return n
	}

	// Run #1: a CLI deploy whose instances start slowly.
	slow := appSource(t, helloSpec("1", "30s", `STARTUP_DELAY_MS: "3000"`))
	c.mustRun("deploy", "--detach", slow)
	a := g.commit("2")
	if n := push(a); n != 2 {
		t.Fatalf("run of the first webhook: #%d", n)
	}
	b := g.commit("3")
	if n := push(b); n != 3 {
		t.Fatalf("run of the second webhook: #%d", n)
	}
	if r, _ := c.client().Run(context.Background(), "hello", 2); r.State != "superseded" {
		t.Fatalf("run #2 is %s, want superseded by #3", r.State)
	}
	if out := c.mustRun("runs", "cancel", "hello", "3"); !strings.Contains(out, "cancelled") {
		t.Fatalf("cancel a queued run: %s", out)
	}
	if r := c.waitRun("hello", 1, 2*time.Minute); r.State != "succeeded" || r.Trigger != "cli" {
		t.Fatalf("run #1: %+v", r)
	}
	time.Sleep(2 * time.Second) // a tick or two: nothing else may start
	if runs, _ := c.client().Runs(context.Background(), "hello"); len(runs) != 3 {
		t.Fatalf("%d runs, want 3", len(runs))
	}
	assertServes(t, c, "1")

	// Run #4 runs; cancelled while its instance starts, it rolls back.
	d := g.commit("4", `STARTUP_DELAY_MS: "8000"`)
	if n := push(d); n != 4 {
		t.Fatalf("run #%d, want 4", n)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		r, _ := c.client().Run(context.Background(), "hello", 4)
		if r != nil && r.RolloutID != 0 && len(r.Stages) > 3 && r.Stages[3].Status == "running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run #4 never reached its deploy stage: %+v", r)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out := c.mustRun("runs", "cancel", "hello", "4"); !strings.Contains(out, "cancelled") {
		t.Fatalf("cancel a running run: %s", out)
	}
	ro := c.waitRollout("hello", time.Minute)
	if ro.State != "rolled_back" || !strings.Contains(ro.Reason, "cancelled by admin") {
		t.Fatalf("the cancelled run's rollout: %s %q", ro.State, ro.Reason)
	}
	assertServes(t, c, "1")
}

// Hostile archives on the deploy API: each refused with a clear error,
// nothing written outside the upload's scratch folder.
func TestUploads_HostileArchivesAreRefused(t *testing.T) {
	c := newCluster(t)
	c.mustRun("apps", "create", "hello")
	ctx := context.Background()
	outside := filepath.Join(c.data, "pwned")
	cases := []struct {
		name, want string
		archive    []byte
	}{
		{"zip slip", `"../../pwned"`, zipOf(t, map[string]string{"../../pwned": "x"})},
		{"absolute path", "absolute", zipOf(t, map[string]string{"/tmp/nonstop-pwned": "x"})},
		{"symlink escape", "escapes", tarWithSymlink(t, "link", "../../..", "link/pwned")},
		{"zip bomb", "expands", zipBomb(t, 100<<20)},
	}
	for _, tc := range cases {
		_, err := c.client().Deploy(ctx, "hello", bytes.NewReader(tc.archive), "upload")
		if code := client.StatusOf(err); (code != http.StatusBadRequest && code != http.StatusRequestEntityTooLarge) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v (status %d); want refused, naming %q", tc.name, err, client.StatusOf(err), tc.want)
		}
	}
	for _, p := range []string{outside, "/tmp/nonstop-pwned"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was written", p)
		}
	}
	if tmp, _ := os.ReadDir(filepath.Join(c.data, "tmp")); len(tmp) != 0 {
		t.Errorf("uploads left behind: %v", tmp)
	}
}

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	zw.Close()
	return buf.Bytes()
}

// zipBomb is a small zip that expands to n bytes of zeros.
func zipBomb(t *testing.T, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "zeros", Method: zip.Deflate})
	chunk := make([]byte, 1<<20)
	for i := 0; i < n/len(chunk); i++ {
		w.Write(chunk)
	}
	zw.Close()
	return buf.Bytes()
}

// tarWithSymlink is a tar.gz with a symlink to target and a file written
// through it.
func tarWithSymlink(t *testing.T, link, target, through string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: link, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777})
	tw.WriteHeader(&tar.Header{Name: through, Typeflag: tar.TypeReg, Mode: 0o644, Size: 1})
	tw.Write([]byte("x"))
	tw.Close()
	gz.Close()
	return buf.Bytes()
}
