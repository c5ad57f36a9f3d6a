package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"
)

func TestExtract_OverTheLimitsMatchesErrTooLarge(t *testing.T) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	body := strings.Repeat("x", 4096)
	for _, name := range []string{"a", "b", "c"} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	err := Extract(bytes.NewReader(buf.Bytes()), t.TempDir(), Limits{MaxBytes: 5000, MaxFiles: 100, MaxRatio: 1e9})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "expands to more than 5000 bytes") {
		t.Fatalf("got %v", err)
	}
	err = Extract(bytes.NewReader(buf.Bytes()), t.TempDir(), Limits{MaxBytes: 1 << 20, MaxFiles: 2, MaxRatio: 1e9})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("file count: got %v", err)
	}
	var refused *RefusedError
	escape := Extract(bytes.NewReader(mustTarGz(t, "../x")), t.TempDir(), DefaultLimits())
	if !errors.As(escape, &refused) || errors.Is(escape, ErrTooLarge) {
		t.Fatalf("an escape is refused but not too large: %v", escape)
	}
}

func mustTarGz(t *testing.T, name string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
	tw.Write([]byte("x"))
	tw.Close()
	gz.Close()
	return buf.Bytes()
}
