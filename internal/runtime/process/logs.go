package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

// Logs returns the instance's output (stdout and stderr, interleaved, and
// the runtime's own "[nonstop] ..." lines), from tail lines before the end
// (tail <= 0: all). With follow, the reader keeps returning output as it is
// appended until ctx ends or the reader is closed; then it returns io.EOF.
func (r *Runtime) Logs(ctx context.Context, id string, tail int, follow bool) (io.ReadCloser, error) {
	if !validID(id) {
		return nil, fmt.Errorf("logs %q: %w", id, runtime.ErrNotFound)
	}
	f, err := os.Open(filepath.Join(r.instDir(id), logFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("logs %s: %w", id, runtime.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("logs %s: %w", id, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("logs %s: %w", id, err)
	}
	size := fi.Size()
	off, err := tailOffset(f, size, tail)
	if err == nil {
		_, err = f.Seek(off, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("logs %s: %w", id, err)
	}
	if !follow {
		return struct {
			io.Reader
			io.Closer
		}{io.LimitReader(f, size-off), f}, nil
	}
	return &followReader{f: f, ctx: ctx, closed: make(chan struct{})}, nil
}

// tailOffset returns where the last n lines of the first size bytes of f
// begin (n <= 0: 0). A final newline ends the last line; it does not start
// another.
func tailOffset(f io.ReaderAt, size int64, n int) (int64, error) {
	if n <= 0 {
		return 0, nil
	}
	buf := make([]byte, 32<<10)
	lines := 0
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != '\n' || start+int64(i) == size-1 {
				continue
			}
			if lines++; lines == n {
				return start + int64(i) + 1, nil
			}
		}
		end = start
	}
	return 0, nil
}

// followReader reads a file that keeps growing, like tail -f.
type followReader struct {
	f      *os.File
	ctx    context.Context
	closed chan struct{}
	once   sync.Once
	err    error
}

func (fr *followReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := fr.f.Read(p)
		if n > 0 {
			return n, nil
		}
		// The log was rotated (truncated) under us: start again at its top.
		if off, serr := fr.f.Seek(0, io.SeekCurrent); serr == nil {
			if fi, ferr := fr.f.Stat(); ferr == nil && fi.Size() < off {
				fr.f.Seek(0, io.SeekStart)
				continue
			}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			select {
			case <-fr.closed:
				return 0, io.EOF
			default:
				return 0, err
			}
		}
		t := time.NewTimer(followPoll)
		select {
		case <-fr.ctx.Done():
			t.Stop()
			return 0, io.EOF
		case <-fr.closed:
			t.Stop()
			return 0, io.EOF
		case <-t.C:
		}
	}
}

// Close ends the stream; a Read in progress returns io.EOF.
func (fr *followReader) Close() error {
	fr.once.Do(func() {
		close(fr.closed)
		fr.err = fr.f.Close()
	})
	return fr.err
}
