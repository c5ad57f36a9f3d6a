package proxy

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// AccessLog writes one JSON line per request, off the request path: a
// request copies a fixed-size record into a buffered channel and goes on;
// a goroutine of the log's own encodes and writes. When the writer falls
// behind, records are dropped and counted, never waited for.
type AccessLog struct {
	ch      chan accessRecord
	out     io.Writer
	dropped atomic.Int64
	done    chan struct{}
}

// accessRecord is one request, in fixed-size fields so that recording it
// allocates nothing.
type accessRecord struct {
	at       time.Time
	app      string
	release  int
	status   int
	dur      time.Duration
	method   [16]byte
	methodN  uint8
	target   [128]byte
	targetN  uint8
	id       [64]byte
	idN      uint8
	clientIP [46]byte
	clientN  uint8
}

// NewAccessLog starts writing records to out until ctx ends (then it
// writes what is queued and stops). Close out after Wait.
func NewAccessLog(ctx context.Context, out io.Writer) *AccessLog {
	l := &AccessLog{ch: make(chan accessRecord, 4096), out: out, done: make(chan struct{})}
	go l.run(ctx)
	return l
}

// Wait returns once the log has written its last record.
func (l *AccessLog) Wait() { <-l.done }

// Dropped is how many records were dropped because the writer fell behind.
func (l *AccessLog) Dropped() int64 { return l.dropped.Load() }

func (l *AccessLog) record(r *accessRecord) {
	select {
	case l.ch <- *r:
	default:
		l.dropped.Add(1)
	}
}

type accessLine struct {
	Time     string  `json:"time"`
	App      string  `json:"app"`
	Release  int     `json:"release,omitempty"`
	Status   int     `json:"status"`
	Duration float64 `json:"duration_ms"`
	Method   string  `json:"method"`
	Target   string  `json:"target"`
	ID       string  `json:"request_id"`
	Client   string  `json:"client"`
}

func (l *AccessLog) run(ctx context.Context) {
	defer close(l.done)
	w := bufio.NewWriterSize(l.out, 64<<10)
	enc := json.NewEncoder(w)
	flush := time.NewTicker(200 * time.Millisecond)
	defer flush.Stop()
	write := func(r accessRecord) {
		enc.Encode(accessLine{
			Time: r.at.UTC().Format(time.RFC3339Nano), App: r.app, Release: r.release, Status: r.status,
			Duration: float64(r.dur.Microseconds()) / 1000, Method: string(r.method[:r.methodN]),
			Target: string(r.target[:r.targetN]), ID: string(r.id[:r.idN]), Client: string(r.clientIP[:r.clientN]),
		})
	}
	for {
		select {
		case r := <-l.ch:
			write(r)
		case <-flush.C:
			if n := l.dropped.Swap(0); n > 0 {
				w.WriteString(`{"time":"` + time.Now().UTC().Format(time.RFC3339Nano) + `","dropped":` + strconv.FormatInt(n, 10) + "}\n")
			}
			w.Flush()
		case <-ctx.Done():
			for {
				select {
				case r := <-l.ch:
					write(r)
				default:
					w.Flush()
					return
				}
			}
		}
	}
}

// fill sets a record's fixed fields from byte slices, truncating.
func (r *accessRecord) fill(method, target, id, client []byte) {
	r.methodN = uint8(copy(r.method[:], method))
	r.targetN = uint8(copy(r.target[:], target))
	r.idN = uint8(copy(r.id[:], id))
	r.clientN = uint8(copy(r.clientIP[:], client))
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
