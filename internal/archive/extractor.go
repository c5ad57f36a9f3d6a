package archive

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

// An extractor writes the entries of one archive under its destination,
// counting them against its limits. Every write goes through an os.Root,
// which refuses to leave the destination even through a symlink; the
// checks before it are there to refuse early, with a clear reason.
type extractor struct {
	root       *os.Root
	lim        Limits
	compressed func() int64 // compressed bytes read so far, for MaxRatio
	files      int
	written    int64
	links      map[string]string // the symlinks made so far: name -> target
}

func newExtractor(dest string, lim Limits, compressed func() int64) (*extractor, error) {
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return nil, fmt.Errorf("create destination: %w", err)
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return nil, fmt.Errorf("open destination: %w", err)
	}
	return &extractor{root: root, lim: lim.withDefaults(), compressed: compressed, links: make(map[string]string)}, nil
}

func (x *extractor) close() { x.root.Close() }

// entry counts a new entry and returns its cleaned, slash-separated name,
// refusing it when it is absolute, escapes the destination or passes
// through a symlink of this archive. The root itself is ".".
func (x *extractor) entry(name string) (string, error) {
	x.files++
	if x.files > x.lim.MaxFiles {
		return "", refuseTooLarge(name, "more than %d files in the archive", x.lim.MaxFiles)
	}
	clean, err := cleanName(name)
	if err != nil {
		return "", refuse(name, "%v", err)
	}
	if _, ok := x.links[clean]; ok {
		return "", refuse(name, "already a symlink in this archive")
	}
	for dir := path.Dir(clean); dir != "."; dir = path.Dir(dir) {
		if _, ok := x.links[dir]; ok {
			return "", refuse(name, "path goes through the symlink %q", dir)
		}
	}
	return clean, nil
}

// cleanName cleans an entry's name, reading '\' as '/' as Windows tools
// write it, and fails when it is absolute or leads out of the root.
func cleanName(name string) (string, error) {
	name = strings.ReplaceAll(name, `\`, "/")
	switch {
	case name == "":
		return "", errors.New("empty name")
	case path.IsAbs(name) || len(name) >= 2 && name[1] == ':':
		return "", errors.New("absolute path")
	}
	clean := path.Clean(name)
	if escapes(clean) {
		return "", errors.New("path escapes the destination")
	}
	return clean, nil
}

// escapes reports whether a cleaned relative path leads above its root.
func escapes(clean string) bool {
	return clean == ".." || strings.HasPrefix(clean, "../")
}

func (x *extractor) dir(name string) error {
	clean, err := x.entry(name)
	if err != nil || clean == "." {
		return err
	}
	if err := x.root.MkdirAll(clean, 0o755); err != nil {
		return fmt.Errorf("create folder %q: %w", name, err)
	}
	return nil
}

// file writes r to a new file, with mode's permissions masked by 0755:
// executable bits are kept, no one but the owner may write.
func (x *extractor) file(name string, mode fs.FileMode, r io.Reader) error {
	clean, err := x.entry(name)
	if err != nil {
		return err
	}
	if clean == "." {
		return refuse(name, "a file cannot be the destination folder")
	}
	if err := x.mkdirParent(name, clean); err != nil {
		return err
	}
	f, err := x.root.OpenFile(clean, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return refuse(name, "already in the archive")
	}
	if err != nil {
		return fmt.Errorf("create %q: %w", name, err)
	}
	defer f.Close()
	if _, err := io.Copy(&countingWriter{x: x, w: f, entry: name}, r); err != nil {
		if re := (*RefusedError)(nil); errors.As(err, &re) {
			return re
		}
		return fmt.Errorf("extract %q: %w", name, err)
	}
	if err := f.Chmod(mode.Perm() & 0o755); err != nil {
		return fmt.Errorf("extract %q: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("extract %q: %w", name, err)
	}
	return nil
}

// symlink makes a symlink whose target, read from the link's folder,
// stays inside the destination.
func (x *extractor) symlink(name, target string) error {
	clean, err := x.entry(name)
	if err != nil {
		return err
	}
	switch {
	case clean == ".":
		return refuse(name, "a symlink cannot be the destination folder")
	case target == "":
		return refuse(name, "symlink with an empty target")
	case path.IsAbs(target) || len(target) >= 2 && target[1] == ':':
		return refuse(name, "symlink to the absolute path %q", target)
	case escapes(path.Join(path.Dir(clean), target)):
		return refuse(name, "symlink target %q escapes the destination", target)
	}
	if err := x.mkdirParent(name, clean); err != nil {
		return err
	}
	if err := x.root.Symlink(target, clean); errors.Is(err, fs.ErrExist) {
		return refuse(name, "already in the archive")
	} else if err != nil {
		return fmt.Errorf("create symlink %q: %w", name, err)
	}
	x.links[clean] = target
	return nil
}

func (x *extractor) mkdirParent(name, clean string) error {
	if dir := path.Dir(clean); dir != "." {
		if err := x.root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create folder for %q: %w", name, err)
		}
	}
	return nil
}

// finish checks, once every entry is written, that every symlink resolves
// inside the destination. A link can escape through another that came
// later ("b -> a/.." then "a -> ."), which no check of one link can see.
// It removes a link that escapes, and refuses the archive.
func (x *extractor) finish() error {
	names := make([]string, 0, len(x.links))
	for name := range x.links {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		_, err := x.root.Stat(name)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			continue // inside, or dangling inside
		}
		if rmErr := x.root.Remove(name); rmErr != nil {
			return fmt.Errorf("remove escaping symlink %q: %w", name, rmErr)
		}
		return refuse(name, "symlink target %q does not resolve inside the destination: %v", x.links[name], err)
	}
	return nil
}

// countingWriter counts the bytes written against the extractor's limits.
type countingWriter struct {
	x     *extractor
	w     io.Writer
	entry string
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	x := c.x
	x.written += int64(n)
	if x.written > x.lim.MaxBytes {
		return n, refuseTooLarge(c.entry, "the archive expands to more than %d bytes", x.lim.MaxBytes)
	}
	if allowed := max(ratioSlack, int64(x.lim.MaxRatio*float64(x.compressed()))); x.written > allowed {
		return n, refuseTooLarge(c.entry, "the archive expands more than %g times its compressed size", x.lim.MaxRatio)
	}
	return n, err
}
