package archive

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// IgnoreFile lists, at the root of a source folder, what PackTarGz leaves
// out: one glob per line (path.Match syntax), matched against the path
// relative to the root and against the base name. A trailing '/' matches
// folders only; a leading '/' matches the relative path only. Lines
// starting with '#' are comments.
const IgnoreFile = ".nonstopignore"

type ignorePattern struct {
	glob     string
	dirOnly  bool // "build/"
	anchored bool // "/build": the relative path only, not any base name
}

type ignoreList []ignorePattern

// loadIgnore reads dir's IgnoreFile; none means nothing is ignored.
func loadIgnore(dir string) (ignoreList, error) {
	data, err := readInRoot(dir, IgnoreFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", IgnoreFile, err)
	}
	return parseIgnore(data)
}

func parseIgnore(data []byte) (ignoreList, error) {
	var list ignoreList
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		var p ignorePattern
		p.glob, p.dirOnly = strings.CutSuffix(text, "/")
		p.glob, p.anchored = strings.CutPrefix(p.glob, "/")
		if _, err := path.Match(p.glob, ""); err != nil {
			return nil, fmt.Errorf("%s:%d: bad pattern %q: %w", IgnoreFile, line, text, err)
		}
		list = append(list, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", IgnoreFile, err)
	}
	return list, nil
}

// match reports whether rel, a slash-separated path relative to the
// root, is ignored.
func (l ignoreList) match(rel string, isDir bool) bool {
	for _, p := range l {
		if p.dirOnly && !isDir {
			continue
		}
		if ok, _ := path.Match(p.glob, rel); ok {
			return true
		}
		if ok, _ := path.Match(p.glob, path.Base(rel)); ok && !p.anchored {
			return true
		}
	}
	return false
}

// readInRoot reads the file name of dir, never through a link out of dir.
func readInRoot(dir, name string) ([]byte, error) {
	f, err := os.OpenInRoot(dir, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
