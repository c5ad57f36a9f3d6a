package proxy

import (
	"context"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// AccessLog writes one JSON line per request, off the request path: a
// request appends its line to a shared buffer in memory (no system call,
// no waiting for a writer, nothing woken), and the log's own goroutine
// writes the buffer out every flushEvery. When the writer falls behind and
// the buffer is full, lines are dropped and counted, never waited for.
type AccessLog struct {
	out  io.Writer
	done chan struct{}

	mu      sync.Mutex
	buf     []byte
	dropped int64
}

const (
	accessFlushEvery = 100 * time.Millisecond
	accessMaxBuffer  = 8 << 20
)

// NewAccessLog starts writing to out until ctx ends (then it writes what is
// buffered and stops). Close out after Wait.
func NewAccessLog(ctx context.Context, out io.Writer) *AccessLog {
	l := &AccessLog{out: out, done: make(chan struct{}), buf: make([]byte, 0, 64<<10)}
	go l.run(ctx)
	return l
}

// Wait returns once the log has written its last line.
func (l *AccessLog) Wait() { <-l.done }

// Dropped is how many lines were dropped since the last report line.
func (l *AccessLog) Dropped() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}

// accessRecord is one request's line, as the request path knows it.
type accessRecord struct {
	at                         time.Time
	app                        string
	release, status            int
	dur                        time.Duration
	method, target, id, client []byte
}

func (l *AccessLog) record(r *accessRecord) {
	l.mu.Lock()
	if len(l.buf) > accessMaxBuffer {
		l.dropped++
	} else {
		l.buf = r.appendJSON(l.buf)
	}
	l.mu.Unlock()
}

func (l *AccessLog) run(ctx context.Context) {
	defer close(l.done)
	spare := make([]byte, 0, 64<<10)
	flush := func() {
		l.mu.Lock()
		spare, l.buf = l.buf, spare[:0]
		dropped := l.dropped
		l.dropped = 0
		l.mu.Unlock()
		if dropped > 0 {
			spare = append(spare, `{"time":"`...)
			spare = time.Now().UTC().AppendFormat(spare, time.RFC3339Nano)
			spare = append(spare, `","dropped":`...)
			spare = strconv.AppendInt(spare, dropped, 10)
			spare = append(spare, "}\n"...)
		}
		if len(spare) > 0 {
			l.out.Write(spare)
		}
	}
	t := time.NewTicker(accessFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			flush()
		case <-ctx.Done():
			flush()
			return
		}
	}
}

// appendJSON appends the record as one JSON line.
func (r *accessRecord) appendJSON(b []byte) []byte {
	b = append(b, `{"time":"`...)
	b = r.at.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","app":`...)
	b = appendJSONString(b, r.app)
	if r.release > 0 {
		b = append(b, `,"release":`...)
		b = strconv.AppendInt(b, int64(r.release), 10)
	}
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.status), 10)
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendFloat(b, float64(r.dur.Microseconds())/1000, 'f', 3, 64)
	b = append(b, `,"method":`...)
	b = appendJSONString(b, r.method)
	b = append(b, `,"target":`...)
	b = appendJSONString(b, r.target)
	b = append(b, `,"request_id":`...)
	b = appendJSONString(b, r.id)
	b = append(b, `,"client":`...)
	b = appendJSONString(b, r.client)
	return append(b, "}\n"...)
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced.
func appendJSONString[T string | []byte](b []byte, s T) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
			i++
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			i++
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
			if r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
		}
	}
	return append(b, '"')
}

// RotatingFile is an append-only file that, past MaxBytes, is renamed to
// PATH.1 (replacing the previous one) and started anew. It is written by
// one goroutine (the access log's).
type RotatingFile struct {
	path     string
	maxBytes int64
	f        *os.File
	size     int64
}

// OpenRotatingFile opens path for appending (0600).
func OpenRotatingFile(path string, maxBytes int64) (*RotatingFile, error) {
	r := &RotatingFile{path: path, maxBytes: maxBytes}
	return r, r.open()
}

func (r *RotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	r.f, r.size = f, fi.Size()
	return nil
}

func (r *RotatingFile) Write(p []byte) (int, error) {
	if r.maxBytes > 0 && r.size+int64(len(p)) > r.maxBytes && r.size > 0 {
		r.f.Close()
		os.Rename(r.path, r.path+".1")
		if err := r.open(); err != nil {
			return 0, err
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

// Close closes the file.
func (r *RotatingFile) Close() error { return r.f.Close() }
