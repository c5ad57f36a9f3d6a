package spec

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// procfileName is Heroku's list of process types, "web: ./server" lines.
const procfileName = "Procfile"

// procfileWeb returns the command of the "web:" line of the Procfile in
// dir: "" when there is no Procfile or no web line.
func procfileWeb(dir string) (string, error) { return procfileLine(dir, "web") }

// procfileLine returns the command of the Procfile's line for process
// type name ("web", "release"): "" when there is none.
func procfileLine(dir, name string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, procfileName))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", procfileName, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		kind, cmd, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(kind) != name {
			continue
		}
		if cmd = strings.TrimSpace(cmd); cmd == "" {
			return "", &Error{File: procfileName, Line: line, Key: name, Msg: "empty command"}
		}
		return cmd, nil
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read %s: %w", procfileName, err)
	}
	return "", nil
}
