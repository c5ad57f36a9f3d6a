package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// An entry of an archive built by a test. typ is a tar type flag;
// the zero value is a regular file.
type entry struct {
	name string
	body string
	link string // a symlink's target, or a hard link's
	typ  byte
	mode int64 // default 0644
}

func file(name, body string) entry    { return entry{name: name, body: body} }
func dir(name string) entry           { return entry{name: name, typ: tar.TypeDir, mode: 0o755} }
func symlink(name, to string) entry   { return entry{name: name, link: to, typ: tar.TypeSymlink} }
func exec(name, body string) entry    { return entry{name: name, body: body, mode: 0o755} }
func typed(name string, t byte) entry { return entry{name: name, typ: t} }

func tarGz(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode, Size: int64(len(e.body))}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		must(t, tw.WriteHeader(h))
		if h.Size > 0 {
			_, err := tw.Write([]byte(e.body))
			must(t, err)
		}
	}
	must(t, tw.Close())
	must(t, zw.Close())
	return buf.Bytes()
}

func zipOf(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		switch e.typ {
		case tar.TypeDir:
			h.SetMode(fs.ModeDir | 0o755)
		case tar.TypeSymlink:
			h.SetMode(fs.ModeSymlink | 0o777)
			e.body = e.link
		default:
			h.SetMode(fs.FileMode(e.mode) | 0o644)
		}
		w, err := zw.CreateHeader(h)
		must(t, err)
		_, err = w.Write([]byte(e.body))
		must(t, err)
	}
	must(t, zw.Close())
	return buf.Bytes()
}

// folders returns an extraction destination and, next to it, a folder
// that must stay empty: an escaping entry would land there.
func folders(t *testing.T) (dest, outside string) {
	t.Helper()
	base := t.TempDir()
	dest, outside = filepath.Join(base, "dest"), filepath.Join(base, "outside")
	must(t, os.Mkdir(outside, 0o755))
	return dest, outside
}

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	must(t, err)
	if len(entries) != 0 {
		t.Errorf("%s holds %v, want nothing written outside the destination", dir, entries)
	}
}

// assertRefused checks that err is a *RefusedError saying exactly want.
func assertRefused(t *testing.T, err error, want string) {
	t.Helper()
	var re *RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("error = %v, want a *RefusedError: %s", err, want)
	}
	if err.Error() != want {
		t.Errorf("error:\n got %s\nwant %s", err, want)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	must(t, err)
	return string(b)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
