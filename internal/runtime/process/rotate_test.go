package process

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRotateIfLarge_MovesABigLogAsideAndAppendersGoOn(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "output.log")
	w, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600) // as an instance holds it
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.WriteString(strings.Repeat("old line\n", 100))
	if err := rotateIfLarge(path, 10_000); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path + ".1"); fi != nil {
		t.Fatal("a small log was rotated")
	}
	w.WriteString(strings.Repeat("old line\n", 2000))
	if err := rotateIfLarge(path, 10_000); err != nil {
		t.Fatal(err)
	}
	w.WriteString("new line\n")
	got, _ := os.ReadFile(path)
	old, _ := os.ReadFile(path + ".1")
	if string(got) != "new line\n" || len(old) != 2100*9 {
		t.Fatalf("after rotation: log %q, old %d bytes", got, len(old))
	}
}
