package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/archive"
	"github.com/nonstopdev/nonstop/internal/client"
	"github.com/nonstopdev/nonstop/internal/wire"
)

// nothingRecorded checks that a refused deploy left no trace: no rollout,
// no build folder, no release, no upload left in the temp folder.
func (s *server) nothingRecorded(app string) {
	s.t.Helper()
	ctx := context.Background()
	if rs, err := s.admin.Rollouts(ctx, app); err != nil || len(rs) != 0 {
		s.t.Errorf("rollouts recorded: %v %v", rs, err)
	}
	if rels, err := s.admin.Releases(ctx, app); err != nil || len(rels) != 0 {
		s.t.Errorf("releases recorded: %v %v", rels, err)
	}
	if _, err := os.Stat(filepath.Join(s.data, "apps", app)); !os.IsNotExist(err) {
		s.t.Errorf("a build folder was made for the refused deploy (%v)", err)
	}
	if left := s.leftovers(); len(left) != 0 {
		s.t.Errorf("uploads left in %s: %v", s.tmp, left)
	}
}

func TestAPI_BadSpecUploadIs400WithTheLineAndRecordsNothing(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	s.createApp("hello")
	cases := []struct {
		yaml string
		want []string
	}{
		{"run: ./app\ninstances: 2\nhealth:\n  pathh: /healthz\n", []string{"nonstop.yaml:4", "pathh"}},
		{"run: ./app\n\ninstances: many\n", []string{"nonstop.yaml:3", "instances"}},
		{"run: ./app\ndeploy:\n  max_surge: 0\n  max_unavailable: 0\n", []string{"nonstop.yaml:3", "max_surge"}},
		{"instances: 1\n", []string{"run"}},
		{"name: someone-else\nrun: ./app\n", []string{"someone-else", "hello"}},
		{"run: [unclosed\n", []string{"nonstop.yaml:1"}},
	}
	for _, c := range cases {
		_, err := s.admin.Deploy(ctx, "hello", bytes.NewReader(tarGz(t, map[string]string{"nonstop.yaml": c.yaml})), "")
		if client.StatusOf(err) != http.StatusBadRequest {
			t.Errorf("deploy of\n%s: %v, want 400", c.yaml, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q for\n%s does not name %q", err, c.yaml, w)
			}
		}
	}
	for _, body := range [][]byte{[]byte("this is not an archive"), nil} {
		if _, err := s.admin.Deploy(ctx, "hello", bytes.NewReader(body), ""); client.StatusOf(err) != http.StatusBadRequest {
			t.Errorf("deploy of %q: %v, want 400", body, err)
		}
	}
	escape := tarGz(t, map[string]string{"../../evil": "x", "nonstop.yaml": "run: ./app\n"})
	if _, err := s.admin.Deploy(ctx, "hello", bytes.NewReader(escape), ""); client.StatusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "evil") {
		t.Errorf("deploy of an archive escaping its folder: %v, want 400 naming the entry", err)
	}
	s.nothingRecorded("hello")
}

func TestAPI_ArchiveLargerThanTheLimitIs413AndRecordsNothing(t *testing.T) {
	s := newServer(t, withLimits(archive.Limits{MaxBytes: 64 << 10}))
	s.createApp("hello")
	big := tarGz(t, map[string]string{"nonstop.yaml": helloYAML(1), "blob": incompressible(256 << 10)})
	_, err := s.admin.Deploy(context.Background(), "hello", bytes.NewReader(big), "")
	if client.StatusOf(err) != http.StatusRequestEntityTooLarge {
		t.Errorf("deploy of an archive over the limit: %v, want 413", err)
	}
	s.nothingRecorded("hello")
}

func TestAPI_SecondDeployWhileOneRunsIs409(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	s.createApp("hello")
	first, err := s.deploy(s.admin, "hello", 1, "STARTUP_DELAY_MS: \"1500\"")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.deploy(s.admin, "hello", 2)
	if client.StatusOf(err) != http.StatusConflict {
		t.Fatalf("second deploy: %v, want 409", err)
	}
	if !strings.Contains(err.Error(), "progress") {
		t.Errorf("409 message %q should say a rollout is in progress", err)
	}
	if left := s.leftovers(); len(left) != 0 {
		t.Errorf("the refused upload was left in %s: %v", s.tmp, left)
	}
	end, err := s.admin.Follow(ctx, "hello", first.ID, func(wire.Event) {})
	if err != nil || end.State != wire.RolloutDone {
		t.Fatalf("first deploy: %+v %v", end, err)
	}
	rs, _ := s.admin.Rollouts(ctx, "hello")
	if len(rs) != 1 {
		t.Errorf("%d rollouts recorded, want 1", len(rs))
	}
	if code, body := s.getApp("hello"); code != 200 || !strings.Contains(body, "from v1") {
		t.Errorf("GET / = %d %q, want v1", code, body)
	}
	// Once it is over, the next deploy goes through.
	s.deployLive("hello", 2)
}

func TestAPI_DeployAnswers201WithTheRolloutAndItCanBeRead(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	s.createApp("hello")
	s.createApp("other")
	ro, err := s.deploy(s.admin, "hello", 1)
	if err != nil {
		t.Fatal(err)
	}
	if ro.ID == 0 || ro.App != "hello" || ro.Kind != wire.KindDeploy || ro.CreatedBy != "admin" {
		t.Errorf("deploy answer = %+v", ro)
	}
	end, err := s.admin.Follow(ctx, "hello", ro.ID, func(wire.Event) {})
	if err != nil || end.State != wire.RolloutDone {
		t.Fatalf("deploy ended %+v %v", end, err)
	}
	got, err := s.admin.Rollout(ctx, "hello", ro.ID)
	if err != nil || got.State != wire.RolloutDone || got.ToRelease != 1 {
		t.Errorf("GET deploy = %+v %v", got, err)
	}
	if _, err := s.admin.Rollout(ctx, "other", ro.ID); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("hello's rollout read as other's: %v, want 404", err)
	}
	if code, body, _ := s.raw("GET", "/api/v1/apps/hello/deploys/first", "Bearer "+s.token, nil); code != http.StatusBadRequest {
		t.Errorf("deploy id that is not a number: %d %s", code, body)
	}
	if code, body, _ := s.raw("GET", "/api/v1/apps/hello/deploys/999", "Bearer "+s.token, nil); code != http.StatusNotFound {
		t.Errorf("unknown deploy id: %d %s", code, body)
	}
}

func TestAPI_DeployOfAnImageIsNotImplementedYet(t *testing.T) {
	s := newServer(t)
	s.createApp("hello")
	req, _ := http.NewRequest("POST", s.api.URL+"/api/v1/apps/hello/deploys", strings.NewReader(`{"image": "nginx:1"}`))
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented {
		t.Errorf("JSON image deploy: %d, want 501", resp.StatusCode)
	}
	s.nothingRecorded("hello")
}

// incompressible returns n bytes that gzip cannot shrink, as text.
func incompressible(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return string(b)
}

// An archive of the app's folder, as GitHub's "Download ZIP" makes it,
// deploys from inside that folder.
func TestDeploy_AnArchiveOfOneFolderDeploysFromInsideIt(t *testing.T) {
	s := newServer(t)
	s.createApp("hello")
	ro, err := s.admin.Deploy(context.Background(), "hello", bytes.NewReader(tarGz(t, map[string]string{
		"hello-main/nonstop.yaml": helloYAML(1), "__MACOSX/hello-main/._nonstop.yaml": "finder's fork",
	})), "")
	if err != nil {
		t.Fatalf("deploy of an archive of one folder: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if end, err := s.admin.Follow(ctx, "hello", ro.ID, func(wire.Event) {}); err != nil || end.State != wire.RolloutDone {
		t.Fatalf("rollout ended %+v: %v", end, err)
	}
	if code, body := s.getApp("hello"); code != 200 || !strings.Contains(body, "v1") {
		t.Errorf("hello answers %d %q, want v1", code, body)
	}
}
