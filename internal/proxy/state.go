package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/nonstopdev/nonstop/internal/atomicfile"
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
	return atomicfile.Write(p.opts.StateFile, append(data, '\n'), 0o600)
}
