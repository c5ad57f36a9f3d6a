package build

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCommand_RunsInDirWithEnvAndKeepsOutput(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("NONSTOP_TOKEN", "secret-token")
	var log bytes.Buffer
	err := Command(context.Background(), dir, `echo "hi $GREETING"; echo oops >&2; echo "token=$NONSTOP_TOKEN"; touch built`, map[string]string{"GREETING": "there"}, &log)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	out := log.String()
	for _, want := range []string{"hi there", "oops", "token=\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q lacks %q", out, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "built")); err != nil {
		t.Errorf("build did not run in its dir: %v", err)
	}
}

func TestCommand_FailureNamesCommandAndExitCode(t *testing.T) {
	err := Command(context.Background(), t.TempDir(), "exit 3", nil, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `"exit 3" failed with exit code 3`) {
		t.Fatalf("got %v", err)
	}
}

func TestCommand_CancelKillsTheWholeGroup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := Command(ctx, t.TempDir(), "sleep 30 & sleep 30", nil, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("cancel took %s", d)
	}
}
