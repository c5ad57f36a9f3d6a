package image

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestListContext_HonoursDockerignoreAndNeverSendsGit(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		".dockerignore":      "# comment\n*.log\ndocs\nbuild\n!build/keep.txt\nDockerfile\n.dockerignore\n",
		"Dockerfile":         "FROM scratch\n",
		"main.go":            "package main\n",
		"app.log":            "x",
		"sub/app.log":        "kept: *.log matches the root only",
		"docs/a.md":          "x",
		"build/out.bin":      "x",
		"build/keep.txt":     "kept by the exception",
		".git/HEAD":          "x",
		"vendor/m/.git/HEAD": "x",
		"vendor/m/m.go":      "package m\n",
	} {
		writeFile(t, filepath.Join(dir, name), content)
	}
	if err := os.Symlink("main.go", filepath.Join(dir, "link.go")); err != nil {
		t.Fatal(err)
	}
	entries, size, err := listContext(dir, "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.rel)
	}
	// As with the Docker CLI, an excluded folder's header is not sent even
	// when an exception keeps a file in it; the Engine creates the folder.
	want := []string{".dockerignore", "Dockerfile", "build/keep.txt", "link.go", "main.go",
		"sub", "sub/app.log", "vendor", "vendor/m", "vendor/m/m.go"}
	if !slices.Equal(got, want) {
		t.Errorf("context = %q\nwant      %q", got, want)
	}

	var buf bytes.Buffer
	if err := writeContext(&buf, entries); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	var files int64
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Uid != 0 || hdr.Gid != 0 {
			t.Errorf("%s owned by %d:%d, want root", hdr.Name, hdr.Uid, hdr.Gid)
		}
		if hdr.Name == "link.go" && (hdr.Typeflag != tar.TypeSymlink || hdr.Linkname != "main.go") {
			t.Errorf("link.go sent as %+v, want a symlink to main.go", hdr)
		}
		n, _ := io.Copy(io.Discard, tr)
		files += n
	}
	if files != size {
		t.Errorf("tar holds %d bytes of files, listContext counted %d", files, size)
	}
}

func TestListContext_KeepsADockerfileInAnIgnoredFolder(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, ".dockerignore"), "deploy\n")
	writeFile(t, filepath.Join(dir, "deploy/Dockerfile"), "FROM scratch\n")
	writeFile(t, filepath.Join(dir, "deploy/secret"), "x")
	entries, _, err := listContext(dir, "deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.rel)
	}
	if want := []string{".dockerignore", "deploy/Dockerfile"}; !slices.Equal(got, want) {
		t.Errorf("context = %q, want %q", got, want)
	}
}

// The source is its app's account's, which may link anything to
// anywhere: a file swapped for a link out of the context after it was
// listed is not read.
func TestWriteContext_NeverReadsThroughALinkOutOfTheContext(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "admin.token")
	writeFile(t, secret, "nst_secret\n")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "Dockerfile"), "FROM scratch\n")
	writeFile(t, filepath.Join(dir, "data.txt"), "listed as a file\n")
	entries, _, err := listContext(dir, "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "data.txt"))
	if err := os.Symlink(secret, filepath.Join(dir, "data.txt")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	err = writeContext(&buf, entries)
	if err == nil || !strings.Contains(err.Error(), "escapes") {
		t.Errorf("writeContext after the swap: %v, want refused", err)
	}
	if strings.Contains(buf.String(), "nst_secret") {
		t.Error("the build context holds the linked-to file's content")
	}
}
