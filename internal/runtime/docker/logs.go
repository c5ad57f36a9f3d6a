package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

// Logs returns the container's output, stdout and stderr interleaved in one
// stream of lines, from tail lines before the end (tail <= 0: all), across
// all its restarts. With follow, the reader keeps returning output until
// ctx ends or the reader is closed (then io.EOF), or the container stops.
// The output is read through the Engine, so it needs a logging driver that
// the Engine can read back (json-file and local, the defaults, can).
func (r *Runtime) Logs(ctx context.Context, id string, tail int, follow bool) (io.ReadCloser, error) {
	if !validID(id) {
		return nil, fmt.Errorf("logs %q: %w", id, runtime.ErrNotFound)
	}
	ins, err := r.inspect(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("logs %s: %w", id, err)
	}
	opts := container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: follow, Tail: "all"}
	if tail > 0 {
		opts.Tail = strconv.Itoa(tail)
	}
	body, err := r.cli.ContainerLogs(ctx, ins.ID, opts)
	if err != nil {
		return nil, fmt.Errorf("logs %s: %w", id, err)
	}
	if ins.Config.Tty { // not multiplexed (never so for containers Start creates)
		return body, nil
	}
	pr, pw := io.Pipe()
	lr := &logReader{pr: pr, body: body, done: make(chan struct{})}
	go func() {
		defer close(lr.done)
		// Frames go out one after the other, whole: stdout's and stderr's
		// lines interleave in the order the Engine recorded them.
		_, err := stdcopy.StdCopy(pw, pw, body)
		if ctx.Err() != nil || errors.Is(err, io.ErrClosedPipe) {
			err = nil // the caller ended it: a clean end of stream
		}
		pw.CloseWithError(err)
		body.Close()
	}()
	return lr, nil
}

// logReader is the demultiplexed output of a container.
type logReader struct {
	pr   *io.PipeReader
	body io.ReadCloser // the Engine's multiplexed stream
	done chan struct{} // closed when the copying goroutine returns
	once sync.Once
}

func (lr *logReader) Read(p []byte) (int, error) { return lr.pr.Read(p) }

// Close ends the stream and waits for the goroutine that fed it.
func (lr *logReader) Close() error {
	lr.once.Do(func() {
		lr.pr.Close()
		lr.body.Close()
		<-lr.done
	})
	return nil
}
