package process

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

// Run runs a command once as an instance would: its folder, env and
// volumes, its output kept; a failure names the exit code.
func TestRun_RunsOnceAsAnInstanceWould(t *testing.T) {
	rt := newRuntime(t, "", Options{})
	dir := t.TempDir()
	spec := runtime.InstanceSpec{ID: "once", App: "app", Release: 2, Dir: dir, Env: map[string]string{"GREETING": "hi"},
		Volumes: []runtime.Volume{{Name: "data", Path: "/data"}},
		Command: `echo "greeting=$GREETING in $(pwd)"; echo migrated > "$NONSTOP_VOLUME_DATA/schema"; sleep 300 &`}
	var out strings.Builder
	start := time.Now()
	if err := rt.Run(context.Background(), spec, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("run waited %s for what the command left in the background", time.Since(start))
	}
	if want := "greeting=hi in " + dir; !strings.Contains(out.String(), want) {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	if b, err := os.ReadFile(filepath.Join(rt.volumeDir("app", "data"), "schema")); err != nil || string(b) != "migrated\n" {
		t.Errorf("the volume holds %q (%v), want what the command wrote", b, err)
	}
	spec.Command = "echo half-done; exit 4"
	out.Reset()
	if err := rt.Run(context.Background(), spec, &out); err == nil || !strings.Contains(err.Error(), "exit code 4") || !strings.Contains(out.String(), "half-done") {
		t.Errorf("a failing command: %v, output %q; want exit code 4 named and its output kept", err, out.String())
	}
}
