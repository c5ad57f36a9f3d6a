package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sourceTree makes a source folder with a bit of everything PackTarGz
// must keep or leave out.
func sourceTree(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	write := func(name, body string, mode os.FileMode) {
		p := filepath.Join(src, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(body), mode))
		must(t, os.Chmod(p, mode))
	}
	write("main.go", "package main", 0o644)
	write("bin/run", "#!/bin/sh", 0o755)
	write("web/static/app.js", "js", 0o644)
	write("web/node_modules/x/index.js", "dep", 0o644)
	write("debug.log", "log", 0o644)
	write(".git/HEAD", "ref: refs/heads/main", 0o644)
	write(".nonstopignore", "# local only\nnode_modules/\n*.log\n", 0o644)
	must(t, os.Mkdir(filepath.Join(src, "empty"), 0o755))
	must(t, os.Symlink("bin/run", filepath.Join(src, "start")))
	return src
}

func TestPackTarGz_EntriesAreRelativeAndLeaveOutIgnored(t *testing.T) {
	var buf bytes.Buffer
	must(t, PackTarGz(&buf, sourceTree(t)))
	var names []string
	zr, err := gzip.NewReader(&buf)
	must(t, err)
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		must(t, err)
		names = append(names, h.Name)
		if h.Uname != "" || h.Uid != 0 {
			t.Errorf("%s: owner %s/%d recorded, want none", h.Name, h.Uname, h.Uid)
		}
	}
	want := []string{".nonstopignore", "bin/", "bin/run", "empty/", "main.go", "start", "web/", "web/static/", "web/static/app.js"}
	if !slices.Equal(names, want) {
		t.Errorf("entries = %q\nwant %q", names, want)
	}
}

func TestPackTarGz_RoundTripsThroughExtractTarGz(t *testing.T) {
	src := sourceTree(t)
	var buf bytes.Buffer
	must(t, PackTarGz(&buf, src))
	dest, _ := folders(t)
	must(t, ExtractTarGz(&buf, dest, DefaultLimits()))

	for _, name := range []string{"main.go", "bin/run", "web/static/app.js", ".nonstopignore"} {
		if got, want := readFile(t, filepath.Join(dest, name)), readFile(t, filepath.Join(src, name)); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	assertMode(t, filepath.Join(dest, "bin/run"), 0o755)
	assertMode(t, filepath.Join(dest, "main.go"), 0o644)
	assertMode(t, filepath.Join(dest, "empty"), os.ModeDir|0o755)
	if target, err := os.Readlink(filepath.Join(dest, "start")); err != nil || target != "bin/run" {
		t.Errorf("start is %q (%v), want a symlink to bin/run", target, err)
	}
	for _, gone := range []string{".git", "debug.log", "web/node_modules"} {
		if _, err := os.Lstat(filepath.Join(dest, gone)); !os.IsNotExist(err) {
			t.Errorf("%s was packed, want it left out", gone)
		}
	}
}

func TestPackTarGz_BadIgnoreFileIsError(t *testing.T) {
	src := t.TempDir()
	must(t, os.WriteFile(filepath.Join(src, IgnoreFile), []byte("[\n"), 0o644))
	err := PackTarGz(io.Discard, src)
	if want := "pack " + src + `: .nonstopignore:1: bad pattern "[": syntax error in pattern`; err == nil || err.Error() != want {
		t.Errorf("PackTarGz error = %v, want %s", err, want)
	}
}

// A source folder may be an app's account's, which can make a link to
// anywhere: what PackTarGz reads it reads in the folder, never through a
// link out of it.
func TestPackTarGz_NeverReadsThroughALinkOutOfTheFolder(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "admin.token")
	if err := os.WriteFile(secret, []byte("nst_secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(secret, filepath.Join(dir, IgnoreFile)); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	err := PackTarGz(&buf, dir)
	if err == nil || !strings.Contains(err.Error(), "escapes") {
		t.Fatalf("PackTarGz with an ignore file linked out of the folder: %v, want refused", err)
	}
}
