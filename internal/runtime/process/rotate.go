package process

import (
	"io"
	"os"
	"path/filepath"
	"time"
)

// Instances write their output straight to output.log (so it keeps
// flowing while the control plane is down). It is kept bounded the way
// logrotate's copytruncate does it: past MaxLogBytes it is copied to
// output.log.1 and truncated; the instance, which appends, goes on at the
// new end. A few lines written during the copy may be lost.

const rotateEvery = 10 * time.Second

// rotateLoop checks every instance's output size until done is closed.
func (r *Runtime) rotateLoop(done <-chan struct{}) {
	t := time.NewTicker(rotateEvery)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		entries, err := os.ReadDir(r.dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.IsDir() && validID(e.Name()) {
				rotateIfLarge(filepath.Join(r.dir, e.Name(), logFile), r.opts.MaxLogBytes)
			}
		}
	}
}

// rotateIfLarge moves a log over max bytes to path.1 (copy, then truncate).
func rotateIfLarge(path string, max int64) error {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() <= max {
		return err
	}
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(path+".1", os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	return os.Truncate(path, 0)
}
