package archive

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// maxLinkTarget bounds the length of a symlink's target in a zip, where
// it is stored as the entry's content.
const maxLinkTarget = 4096

// ExtractZip extracts the zip archive of size bytes read from ra into
// dest, which it creates if needed. On error, dest may hold part of the
// archive.
func ExtractZip(ra io.ReaderAt, size int64, dest string, lim Limits) error {
	lim = lim.withDefaults()
	zr, err := zip.NewReader(ra, size)
	// ErrInsecurePath comes with a usable reader; the extractor refuses
	// such names itself, with the entry's name.
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return fmt.Errorf("read zip: %w", err)
	}
	if len(zr.File) > lim.MaxFiles {
		return refuse("", "more than %d files in the archive", lim.MaxFiles)
	}
	x, err := newExtractor(dest, lim, func() int64 { return size })
	if err != nil {
		return err
	}
	defer x.close()
	for _, f := range zr.File {
		if err := x.zipEntry(f); err != nil {
			return err
		}
	}
	return x.finish()
}

func (x *extractor) zipEntry(f *zip.File) error {
	mode := f.Mode()
	switch {
	case mode.IsDir():
		return x.dir(f.Name)
	case mode&fs.ModeSymlink != 0:
		target, err := readAll(f, maxLinkTarget)
		if err != nil {
			return err
		}
		return x.symlink(f.Name, target)
	case mode.IsRegular():
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("read zip entry %q: %w", f.Name, err)
		}
		defer rc.Close()
		return x.file(f.Name, mode, rc)
	default:
		return refuse(f.Name, "devices, fifos and sockets are not allowed")
	}
}

// readAll reads a small entry, refusing it past limit bytes.
func readAll(f *zip.File, limit int64) (string, error) {
	rc, err := f.Open()
	if err != nil {
		return "", fmt.Errorf("read zip entry %q: %w", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return "", fmt.Errorf("read zip entry %q: %w", f.Name, err)
	}
	if int64(len(b)) > limit {
		return "", refuse(f.Name, "symlink target longer than %d bytes", limit)
	}
	return string(b), nil
}
