package archive

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExtract_TellsTarGzFromZip(t *testing.T) {
	for name, data := range map[string][]byte{
		"tar.gz": tarGz(t, file("app/main.go", "package main")),
		"zip":    zipOf(t, file("app/main.go", "package main")),
	} {
		t.Run(name, func(t *testing.T) {
			dest, _ := folders(t)
			must(t, Extract(bytes.NewReader(data), dest, DefaultLimits()))
			if got := readFile(t, filepath.Join(dest, "app/main.go")); got != "package main" {
				t.Errorf("app/main.go = %q", got)
			}
		})
	}
}

func TestExtract_EmptyZipIsEmptyFolder(t *testing.T) {
	dest, _ := folders(t)
	must(t, Extract(bytes.NewReader(zipOf(t)), dest, DefaultLimits()))
	assertEmpty(t, dest)
}

func TestExtract_RefusesWhatIsNeitherTarGzNorZip(t *testing.T) {
	for _, data := range []string{"", "P", "hello, world", "\x1f"} {
		dest, _ := folders(t)
		err := Extract(strings.NewReader(data), dest, DefaultLimits())
		assertRefused(t, err, "archive refused: not a tar.gz or zip archive")
	}
}

func TestExtract_RefusesZipLargerThanMaxBytes(t *testing.T) {
	dest, _ := folders(t)
	data := zipOf(t, file("a", strings.Repeat("incompressible? no, but long enough ", 100)))
	err := Extract(bytes.NewReader(data), dest, Limits{MaxBytes: 100})
	assertRefused(t, err, "archive refused: zip archive larger than 100 bytes")
}

func TestExtract_AppliesSafetyChecksToZip(t *testing.T) {
	dest, outside := folders(t)
	err := Extract(bytes.NewReader(zipOf(t, file("../outside/evil", "x"))), dest, DefaultLimits())
	assertRefused(t, err, `archive entry "../outside/evil" refused: path escapes the destination`)
	assertEmpty(t, outside)
}

func TestExtract_NeverWritesThroughASymlinkAlreadyInDest(t *testing.T) {
	dest, outside := folders(t)
	// The archive's own checks cannot see this link: only os.Root stops it.
	must(t, os.MkdirAll(dest, 0o755))
	must(t, os.Symlink(outside, filepath.Join(dest, "pre")))
	for name, data := range map[string][]byte{
		"tar.gz": tarGz(t, file("pre/evil", "x")),
		"zip":    zipOf(t, file("pre/sub/evil", "x")),
	} {
		if err := Extract(bytes.NewReader(data), dest, DefaultLimits()); err == nil {
			t.Errorf("%s: Extract wrote through dest/pre -> %s without error", name, outside)
		}
	}
	assertEmpty(t, outside)
}
