package archive

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

var (
	gzipMagic     = []byte{0x1f, 0x8b}
	zipMagic      = []byte("PK\x03\x04")
	zipEmptyMagic = []byte("PK\x05\x06") // an empty zip is only its end record
)

// Extract extracts a tar.gz or a zip archive, told apart by their first
// bytes, into dest. A zip is read from its end, so it is first copied to a
// temporary file, of at most lim.MaxBytes.
func Extract(r io.Reader, dest string, lim Limits) error {
	br := bufio.NewReader(r)
	magic, err := br.Peek(len(zipMagic))
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		return ExtractTarGz(br, dest, lim)
	case bytes.HasPrefix(magic, zipMagic), bytes.HasPrefix(magic, zipEmptyMagic):
		return extractZipStream(br, dest, lim)
	case err != nil && !errors.Is(err, io.EOF):
		return fmt.Errorf("read archive: %w", err)
	}
	return refuse("", "not a tar.gz or zip archive")
}

func extractZipStream(r io.Reader, dest string, lim Limits) error {
	lim = lim.withDefaults()
	tmp, err := os.CreateTemp("", "nonstop-upload-*.zip")
	if err != nil {
		return fmt.Errorf("buffer zip: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	n, err := io.Copy(tmp, io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		return fmt.Errorf("buffer zip: %w", err)
	}
	if n > lim.MaxBytes {
		return refuseTooLarge("", "zip archive larger than %d bytes", lim.MaxBytes)
	}
	return ExtractZip(tmp, n, dest, lim)
}
