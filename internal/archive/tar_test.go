package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExtractTarGz_WritesFilesFoldersAndSymlinks(t *testing.T) {
	dest, _ := folders(t)
	data := tarGz(t,
		dir("./"),
		dir("src/"),
		file("src/main.go", "package main"),
		exec("bin/run", "#!/bin/sh"),
		file("deep/er/x.txt", "x"),
		symlink("current", "src/main.go"),
		symlink("src/up", "../bin/run"),
		symlink("dangling", "not/yet"),
	)
	must(t, ExtractTarGz(bytes.NewReader(data), dest, DefaultLimits()))

	if got := readFile(t, filepath.Join(dest, "current")); got != "package main" {
		t.Errorf("current -> src/main.go reads %q", got)
	}
	if got := readFile(t, filepath.Join(dest, "src/up")); got != "#!/bin/sh" {
		t.Errorf("src/up -> ../bin/run reads %q", got)
	}
	assertMode(t, filepath.Join(dest, "bin/run"), 0o755)
	assertMode(t, filepath.Join(dest, "src/main.go"), 0o644)
	assertMode(t, filepath.Join(dest, "deep/er"), os.ModeDir|0o755)
}

func TestExtractTarGz_MasksModesWith0755(t *testing.T) {
	dest, _ := folders(t)
	data := tarGz(t, entry{name: "setuid", body: "x", mode: 0o4777}, entry{name: "open", body: "x", mode: 0o666})
	must(t, ExtractTarGz(bytes.NewReader(data), dest, DefaultLimits()))
	assertMode(t, filepath.Join(dest, "setuid"), 0o755)
	assertMode(t, filepath.Join(dest, "open"), 0o644)
}

func TestExtractTarGz_RefusesUnsafeEntries(t *testing.T) {
	_, outside := folders(t)
	abs := filepath.Join(outside, "evil")
	tests := []struct {
		name    string
		entries []entry
		want    string
	}{
		{"zip slip", []entry{file("../outside/evil", "x")},
			`archive entry "../outside/evil" refused: path escapes the destination`},
		{"slip after cleaning", []entry{file("a/../../outside/evil", "x")},
			`archive entry "a/../../outside/evil" refused: path escapes the destination`},
		{"backslashes", []entry{file(`..\outside\evil`, "x")},
			`archive entry "..\\outside\\evil" refused: path escapes the destination`},
		{"absolute path", []entry{file(abs, "x")},
			`archive entry "` + abs + `" refused: absolute path`},
		{"symlink escapes", []entry{symlink("link", "../outside"), file("link/evil", "x")},
			`archive entry "link" refused: symlink target "../outside" escapes the destination`},
		{"symlink escapes from a subfolder", []entry{symlink("a/b/link", "../../../outside")},
			`archive entry "a/b/link" refused: symlink target "../../../outside" escapes the destination`},
		{"symlink to an absolute path, then written through", []entry{symlink("link", outside), file("link/evil", "x")},
			`archive entry "link" refused: symlink to the absolute path "` + outside + `"`},
		{"written through a symlink that looked safe", []entry{symlink("a", "."), symlink("b", "a/.."), file("b/outside/evil", "x")},
			`archive entry "b/outside/evil" refused: path goes through the symlink "b"`},
		{"folder through a symlink", []entry{symlink("a", "."), symlink("b", "a/.."), dir("b/outside/evil/")},
			`archive entry "b/outside/evil/" refused: path goes through the symlink "b"`},
		{"hard link", []entry{file("a", "x"), {name: "h", link: abs, typ: tar.TypeLink}},
			`archive entry "h" refused: hard links are not allowed`},
		{"fifo", []entry{typed("p", tar.TypeFifo)},
			`archive entry "p" refused: devices and fifos are not allowed`},
		{"device", []entry{typed("null", tar.TypeChar)},
			`archive entry "null" refused: devices and fifos are not allowed`},
		{"file over a symlink", []entry{symlink("l", "x"), file("l", "x")},
			`archive entry "l" refused: already a symlink in this archive`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A sibling of outside, as in folders, so that "../outside" is outside.
			dest := filepath.Join(filepath.Dir(outside), strings.ReplaceAll(tt.name, " ", "-"))
			err := ExtractTarGz(bytes.NewReader(tarGz(t, tt.entries...)), dest, DefaultLimits())
			assertRefused(t, err, tt.want)
			assertEmpty(t, outside)
		})
	}
}

func TestExtractTarGz_RefusesSymlinkThatEscapesThroughAnother(t *testing.T) {
	dest, outside := folders(t)
	// Each link looks inside on its own; together b is dest/.. .
	data := tarGz(t, symlink("b", "a/.."), symlink("a", "."))
	err := ExtractTarGz(bytes.NewReader(data), dest, DefaultLimits())
	var re *RefusedError
	if !errors.As(err, &re) || re.Entry != "b" || !strings.HasPrefix(re.Reason, `symlink target "a/.." does not resolve inside the destination`) {
		t.Fatalf("error = %v, want entry b refused", err)
	}
	if _, err := os.Lstat(filepath.Join(dest, "b")); !os.IsNotExist(err) {
		t.Errorf("escaping symlink b left in place (Lstat: %v)", err)
	}
	assertEmpty(t, outside)
}

func TestExtractTarGz_RefusesTooManyFiles(t *testing.T) {
	dest, outside := folders(t)
	data := tarGz(t, file("1", ""), file("2", ""), dir("d/"), file("d/3", ""))
	err := ExtractTarGz(bytes.NewReader(data), dest, Limits{MaxFiles: 3})
	assertRefused(t, err, `archive entry "d/3" refused: more than 3 files in the archive`)
	assertEmpty(t, outside)
}

func TestExtractTarGz_CountsBytesWrittenAgainstMaxBytes(t *testing.T) {
	dest, outside := folders(t)
	data := tarGz(t, file("a", strings.Repeat("a", 600)), file("b", strings.Repeat("b", 600)))
	err := ExtractTarGz(bytes.NewReader(data), dest, Limits{MaxBytes: 1000})
	assertRefused(t, err, `archive entry "b" refused: the archive expands to more than 1000 bytes`)
	assertEmpty(t, outside)
}

func TestExtractTarGz_RefusesGzipBomb(t *testing.T) {
	dest, outside := folders(t)
	// 64 MiB of zeros compress to about 64 KiB: a ratio near 1000.
	const size = 64 << 20
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	must(t, tw.WriteHeader(&tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: size}))
	writeZeros(t, tw, size)
	must(t, tw.Close())
	must(t, zw.Close())

	err := ExtractTarGz(&buf, dest, DefaultLimits())
	assertRefused(t, err, `archive entry "zeros" refused: the archive expands more than 200 times its compressed size`)
	assertEmpty(t, outside)
}

func TestExtractTarGz_SkipsGitArchiveGlobalHeader(t *testing.T) {
	dest, _ := folders(t)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header",
		PAXRecords: map[string]string{"comment": "0123456789abcdef"}}))
	must(t, tw.WriteHeader(&tar.Header{Name: "a", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1}))
	_, err := tw.Write([]byte("a"))
	must(t, err)
	must(t, tw.Close())
	must(t, zw.Close())

	must(t, ExtractTarGz(&buf, dest, DefaultLimits()))
	if got := readFile(t, filepath.Join(dest, "a")); got != "a" {
		t.Errorf("a = %q", got)
	}
}

func TestExtractTarGz_NotGzipIsReadError(t *testing.T) {
	dest, _ := folders(t)
	err := ExtractTarGz(strings.NewReader("plain text"), dest, DefaultLimits())
	if err == nil || !strings.HasPrefix(err.Error(), "read tar.gz: ") {
		t.Errorf("error = %v, want read tar.gz: ...", err)
	}
}

func assertMode(t *testing.T, name string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(name)
	must(t, err)
	if got := info.Mode(); got != want {
		t.Errorf("%s: mode %v, want %v", name, got, want)
	}
}

// writeZeros writes n zero bytes to w, a MiB at a time.
func writeZeros(t *testing.T, w interface{ Write([]byte) (int, error) }, n int) {
	t.Helper()
	chunk := make([]byte, 1<<20)
	for ; n > 0; n -= len(chunk) {
		_, err := w.Write(chunk[:min(n, len(chunk))])
		must(t, err)
	}
}
