package archive

import (
	"fmt"
	"os"
	"path/filepath"
)

// junk are what archivers add beside the folder a person compressed:
// Finder's resource forks and folder settings.
var junk = map[string]bool{"__MACOSX": true, ".DS_Store": true}

// Unwrap makes the source in dir start at its root when it is an archive
// of one folder, as GitHub's "Download ZIP" and Finder's "Compress" make
// (shop-main/Procfile): when dir holds a single folder and nothing else
// but archivers' junk, that folder's entries are moved up into dir and
// the folder and the junk removed. It returns the folder's name ("" when
// there was nothing to unwrap).
func Unwrap(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("unwrap %s: %w", dir, err)
	}
	var only os.DirEntry
	for _, e := range ents {
		if junk[e.Name()] {
			continue
		}
		if only != nil || !e.IsDir() {
			return "", nil // more than one entry, or a file at the root: the source starts here
		}
		only = e
	}
	if only == nil {
		return "", nil
	}
	// Moved aside first: the folder may hold an entry of its own name.
	aside, err := os.MkdirTemp(dir, ".unwrap-")
	if err != nil {
		return "", fmt.Errorf("unwrap %s: %w", only.Name(), err)
	}
	inner := filepath.Join(aside, "src")
	if err := os.Rename(filepath.Join(dir, only.Name()), inner); err != nil {
		return "", fmt.Errorf("unwrap %s: %w", only.Name(), err)
	}
	for _, e := range ents {
		if junk[e.Name()] {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return "", fmt.Errorf("unwrap: remove %s: %w", e.Name(), err)
			}
		}
	}
	sub, err := os.ReadDir(inner)
	if err != nil {
		return "", fmt.Errorf("unwrap %s: %w", only.Name(), err)
	}
	for _, e := range sub {
		if err := os.Rename(filepath.Join(inner, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			return "", fmt.Errorf("unwrap %s: move %s up: %w", only.Name(), e.Name(), err)
		}
	}
	if err := os.RemoveAll(aside); err != nil {
		return "", fmt.Errorf("unwrap %s: %w", only.Name(), err)
	}
	return only.Name(), nil
}
