package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// contextEntry is one file, folder or symlink sent in a build context.
type contextEntry struct {
	rel  string // slash-separated path in the context
	dir  string // the context's folder, which the entry is opened in
	path string // path on disk
	info fs.FileInfo
}

// listContext lists what of dir is sent as the build context: everything
// but what its .dockerignore excludes (with the Docker CLI's semantics,
// `!` exceptions included) and any .git. The Dockerfile and the
// .dockerignore are always sent, as the CLI does. size is the files' bytes.
func listContext(dir, dockerfile string) (entries []contextEntry, size int64, err error) {
	pm, err := readDockerignore(dir)
	if err != nil {
		return nil, 0, err
	}
	always := map[string]bool{path.Clean(dockerfile): true, ".dockerignore": true}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if d.Name() == ".git" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !always[rel] && pm != nil {
			excluded, err := pm.MatchesOrParentMatches(rel)
			if err != nil {
				return fmt.Errorf(".dockerignore: %w", err)
			}
			if excluded {
				// An excluded folder is still walked when an exception
				// (`!pattern`) or the Dockerfile may re-include something in it.
				if d.IsDir() && !pm.Exclusions() && !strings.HasPrefix(path.Clean(dockerfile), rel+"/") {
					return filepath.SkipDir
				}
				return nil
			}
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch mode := info.Mode(); {
		case mode.IsRegular():
			size += info.Size()
		case mode.IsDir(), mode&fs.ModeSymlink != 0:
		default:
			return nil // sockets, devices, pipes: not sendable
		}
		entries = append(entries, contextEntry{rel: rel, dir: dir, path: p, info: info})
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("read build context %s: %w", dir, err)
	}
	return entries, size, nil
}

func readDockerignore(dir string) (*patternmatcher.PatternMatcher, error) {
	f, err := os.OpenInRoot(dir, ".dockerignore")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read .dockerignore: %w", err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	return pm, nil
}

// writeContext writes entries to w as a tar archive, owned by root.
func writeContext(w io.Writer, entries []contextEntry) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		if err := writeEntry(tw, e); err != nil {
			return fmt.Errorf("add %s to the build context: %w", e.rel, err)
		}
	}
	return tw.Close()
}

func writeEntry(tw *tar.Writer, e contextEntry) error {
	var link string
	if e.info.Mode()&fs.ModeSymlink != 0 {
		var err error
		if link, err = os.Readlink(e.path); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(e.info, link)
	if err != nil {
		return err
	}
	hdr.Name = e.rel
	if e.info.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !e.info.Mode().IsRegular() {
		return nil
	}
	// In the context's folder and never out of it: the source is its
	// app's account's, which may have made a link to anywhere.
	f, err := os.OpenInRoot(e.dir, filepath.FromSlash(e.rel))
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.CopyN(tw, f, hdr.Size); err != nil {
		return fmt.Errorf("copy (did the file change while building?): %w", err)
	}
	return nil
}
