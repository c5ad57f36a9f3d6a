package archive

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// ExtractTarGz extracts a gzip-compressed tar archive into dest, which it
// creates if needed. On error, dest may hold part of the archive.
func ExtractTarGz(r io.Reader, dest string, lim Limits) error {
	cr := &countingReader{r: r}
	zr, err := gzip.NewReader(cr)
	if err != nil {
		return fmt.Errorf("read tar.gz: %w", err)
	}
	defer zr.Close()
	x, err := newExtractor(dest, lim, func() int64 { return cr.n })
	if err != nil {
		return err
	}
	defer x.close()
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		// ErrInsecurePath comes with a usable header; the extractor
		// refuses such names itself, with the entry's name.
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return fmt.Errorf("read tar.gz: %w", err)
		}
		if err := x.tarEntry(h, tr); err != nil {
			return err
		}
	}
	return x.finish()
}

func (x *extractor) tarEntry(h *tar.Header, r io.Reader) error {
	switch h.Typeflag {
	case tar.TypeDir:
		return x.dir(h.Name)
	case tar.TypeReg:
		return x.file(h.Name, h.FileInfo().Mode(), r)
	case tar.TypeSymlink:
		return x.symlink(h.Name, h.Linkname)
	case tar.TypeXGlobalHeader:
		return nil // metadata, e.g. the commit id that `git archive` records
	case tar.TypeLink:
		return refuse(h.Name, "hard links are not allowed")
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return refuse(h.Name, "devices and fifos are not allowed")
	default:
		return refuse(h.Name, "unsupported tar entry type %q", h.Typeflag)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
