package archive

import (
	"archive/zip"
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestExtractZip_WritesFilesFoldersAndSymlinks(t *testing.T) {
	dest, _ := folders(t)
	data := zipOf(t, dir("src/"), file("src/main.go", "package main"), exec("run.sh", "#!/bin/sh"), symlink("main", "src/main.go"))
	must(t, ExtractZip(bytes.NewReader(data), int64(len(data)), dest, DefaultLimits()))
	if got := readFile(t, filepath.Join(dest, "main")); got != "package main" {
		t.Errorf("main -> src/main.go reads %q", got)
	}
	assertMode(t, filepath.Join(dest, "run.sh"), 0o755)
	assertMode(t, filepath.Join(dest, "src/main.go"), 0o644)
}

func TestExtractZip_RefusesUnsafeEntries(t *testing.T) {
	_, outside := folders(t)
	tests := []struct {
		name    string
		entries []entry
		want    string
	}{
		{"zip slip", []entry{file("ok", "x"), file("../outside/evil", "x")},
			`archive entry "../outside/evil" refused: path escapes the destination`},
		{"backslashes", []entry{file(`a\..\..\outside\evil`, "x")},
			`archive entry "a\\..\\..\\outside\\evil" refused: path escapes the destination`},
		{"absolute path", []entry{file(filepath.Join(outside, "evil"), "x")},
			`archive entry "` + filepath.Join(outside, "evil") + `" refused: absolute path`},
		{"drive letter", []entry{file(`C:\evil`, "x")},
			`archive entry "C:\\evil" refused: absolute path`},
		{"symlink escapes", []entry{symlink("link", "../outside"), file("link/evil", "x")},
			`archive entry "link" refused: symlink target "../outside" escapes the destination`},
		{"symlink to an absolute path, then written through", []entry{symlink("link", outside), file("link/evil", "x")},
			`archive entry "link" refused: symlink to the absolute path "` + outside + `"`},
		{"repeated entry", []entry{file("a", "1"), file("a", "2")},
			`archive entry "a" refused: already in the archive`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := zipOf(t, tt.entries...)
			// A sibling of outside, as in folders, so that "../outside" is outside.
			dest := filepath.Join(filepath.Dir(outside), strings.ReplaceAll(tt.name, " ", "-"))
			err := ExtractZip(bytes.NewReader(data), int64(len(data)), dest, DefaultLimits())
			assertRefused(t, err, tt.want)
			assertEmpty(t, outside)
		})
	}
}

func TestExtractZip_RefusesZipBomb(t *testing.T) {
	dest, outside := folders(t)
	// 100 MB of zeros deflate to about 100 KB: a ratio near 1000.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("zeros")
	must(t, err)
	writeZeros(t, w, 100_000_000)
	must(t, zw.Close())
	if buf.Len() > 1<<20 {
		t.Fatalf("bomb is %d bytes compressed, want under a MiB", buf.Len())
	}

	err = ExtractZip(bytes.NewReader(buf.Bytes()), int64(buf.Len()), dest, DefaultLimits())
	assertRefused(t, err, `archive entry "zeros" refused: the archive expands more than 200 times its compressed size`)
	assertEmpty(t, outside)
}

func TestExtractZip_RefusesTooManyFilesBeforeWriting(t *testing.T) {
	dest, outside := folders(t)
	data := zipOf(t, file("1", ""), file("2", ""), file("3", ""))
	err := ExtractZip(bytes.NewReader(data), int64(len(data)), dest, Limits{MaxFiles: 2})
	assertRefused(t, err, "archive refused: more than 2 files in the archive")
	assertEmpty(t, outside)
}

func TestExtractZip_RefusesLongSymlinkTarget(t *testing.T) {
	dest, _ := folders(t)
	data := zipOf(t, symlink("l", strings.Repeat("a/", 3000)))
	err := ExtractZip(bytes.NewReader(data), int64(len(data)), dest, DefaultLimits())
	assertRefused(t, err, `archive entry "l" refused: symlink target longer than 4096 bytes`)
}
