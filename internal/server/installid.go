package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nonstopdev/nonstop/internal/atomicfile"
)

// installID returns the installation's id, made at first start and kept in
// DATA/install.id. It scopes what nonstop owns outside its data folder
// (containers), so that installations can share a Docker Engine.
func installID(data string) (string, error) {
	path := installIDPath(data)
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read installation id: %w", err)
	}
	raw := make([]byte, 8)
	rand.Read(raw)
	id := hex.EncodeToString(raw)
	if err := atomicfile.Write(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write installation id: %w", err)
	}
	return id, nil
}

// installIDPath is the file that holds a data folder's installation id.
func installIDPath(data string) string { return filepath.Join(data, "install.id") }
