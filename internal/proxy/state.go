package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// stateVersion is the state file's format version.
const stateVersion = 1

// stateFile is what the proxy saves: the routes it serves.
type stateFile struct {
	Version int     `json:"version"`
	Routes  []Route `json:"routes"`
}

// Load replaces the routes with those saved in Options.StateFile. A
// missing file, or no StateFile, means no routes and is not an error.
func (p *Proxy) Load() error {
	if p.opts.StateFile == "" {
		return nil
	}
	data, err := os.ReadFile(p.opts.StateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load routes: %w", err)
	}
	var sf stateFile
	if err := json.Unmarshal(data, &sf); err != nil {
		return fmt.Errorf("load routes from %s: %w", p.opts.StateFile, err)
	}
	if sf.Version != stateVersion {
		return fmt.Errorf("load routes from %s: unknown version %d", p.opts.StateFile, sf.Version)
	}
	next := map[string]Route{}
	for _, r := range sf.Routes {
		if err := validateRoute(r, next); err != nil {
			return fmt.Errorf("load routes from %s: %w", p.opts.StateFile, err)
		}
		next[r.App] = r
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	p.install(next)
	p.log.Info("routes loaded", "file", p.opts.StateFile, "routes", len(next))
	return nil
}

// save writes the routes to the state file atomically: a temp file in the
// same folder, fsync, rename, fsync of the folder. Caller holds p.mu.
func (p *Proxy) save() error {
	if p.opts.StateFile == "" {
		return nil
	}
	data, err := json.MarshalIndent(stateFile{Version: stateVersion, Routes: sortedRoutes(p.routes)}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode routes: %w", err)
	}
	return writeFileAtomic(p.opts.StateFile, append(data, '\n'))
}

func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("save %s: fsync: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync() // make the rename durable; not all file systems support it
		d.Close()
	}
	return nil
}
