package spec

import (
	"errors"

	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nonstopdev/nonstop/internal/detect"
)

// Load reads the app spec of the source in dir: its nonstop.yaml (none is
// the same as an empty one), then, when run is not set, the "web:" line of
// its Procfile, then, when neither says how to run it and there is no
// Dockerfile, what the source's files tell (package detect: its build and
// run, or the folder of a static site, recorded in Detected). It applies
// the defaults, with runtime docker when dir has a Dockerfile, and
// validates the result.
func Load(dir string) (*Spec, error) {
	s, err := readFile(dir)
	if err != nil {
		return nil, err
	}
	if s.Run == "" {
		if s.Run, err = procfileWeb(dir); err != nil {
			return nil, err
		}
	}
	if s.Release == "" {
		if s.Release, err = procfileLine(dir, "release"); err != nil {
			return nil, err
		}
	}
	dockerfile := exists(filepath.Join(dir, "Dockerfile"))
	if s.Run == "" && s.Static == "" && !dockerfile && (s.Runtime == "" || s.Runtime == RuntimeProcess) {
		plan, err := detect.Detect(dir)
		if err != nil {
			return nil, err
		}
		if plan != nil {
			s.Detected, s.Run, s.Static = plan, plan.Run, plan.Static
			if s.Build == "" {
				s.Build = plan.Build
			}
		}
	}
	s.ApplyDefaults(dockerfile)
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

func readFile(dir string) (*Spec, error) {
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	if errors.Is(err, fs.ErrNotExist) {
		return Parse(nil)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", FileName, err)
	}
	return Parse(data)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
