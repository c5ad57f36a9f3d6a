package archive

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// PackTarGz writes a tar.gz of the content of dir, with paths relative to
// it. It leaves out .git folders and what dir's IgnoreFile lists, keeps
// symlinks as symlinks and file modes as they are, and leaves out what is
// not a file, a folder or a symlink (sockets, pipes, devices).
func PackTarGz(w io.Writer, dir string) error {
	ignore, err := loadIgnore(dir)
	if err != nil {
		return fmt.Errorf("pack %s: %w", dir, err)
	}
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.Name() == ".git" || ignore.match(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		return addEntry(tw, dir, rel, d)
	})
	if err != nil {
		return fmt.Errorf("pack %s: %w", dir, err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("pack %s: %w", dir, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("pack %s: %w", dir, err)
	}
	return nil
}

// addEntry writes the file rel of dir to tw. It opens it in dir and never
// out of it: a source folder may be an app's account's, which may have
// swapped a file for a link to anywhere.
func addEntry(tw *tar.Writer, dir, rel string, d fs.DirEntry) error {
	p := filepath.Join(dir, filepath.FromSlash(rel))
	info, err := d.Info()
	if err != nil {
		return err
	}
	var link string
	switch mode := info.Mode(); {
	case mode&fs.ModeSymlink != 0:
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	case mode.IsDir(), mode.IsRegular():
	default:
		return nil
	}
	h, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	h.Name = rel
	if info.IsDir() {
		h.Name += "/"
	}
	// Who owns the files on this machine is no business of the server.
	h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
	h.AccessTime, h.ChangeTime = time.Time{}, time.Time{}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	f, err := os.OpenInRoot(dir, filepath.FromSlash(rel))
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	return nil
}
