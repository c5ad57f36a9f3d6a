// Package archive extracts an app's uploaded source safely and packs a
// source folder for upload.
//
// Extraction writes nothing outside its destination folder, whatever the
// archive holds: no absolute or escaping paths, no symlink that leads out
// or is written through, no hard links or devices, and limits on files,
// bytes and expansion ratio (zip bombs). An archive refused for what it
// holds returns a *RefusedError naming the entry; other errors are
// failures to read or write.
package archive

import (
	"errors"
	"fmt"
)

// Limits bound what one extraction may write. A zero field takes its
// value from DefaultLimits.
type Limits struct {
	MaxBytes int64 // bytes written in all, counted as written
	MaxFiles int   // entries: files, folders and symlinks

	// MaxRatio bounds bytes written per compressed byte: of the whole
	// archive for a zip, of the gzip stream read so far for a tar.gz.
	// The first MiB written is always allowed, so that a tiny archive
	// of a very compressible file is not taken for a bomb.
	MaxRatio float64
}

// ratioSlack is what any archive may expand to, whatever its ratio.
const ratioSlack = 1 << 20

// DefaultLimits allows 512 MiB, 20,000 files and a ratio of 200.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 512 << 20, MaxFiles: 20000, MaxRatio: 200}
}

func (l Limits) withDefaults() Limits {
	def := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = def.MaxBytes
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = def.MaxFiles
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = def.MaxRatio
	}
	return l
}

// A RefusedError is an archive refused for what it holds: a client's
// mistake or an attack, not a failure of the server.
type RefusedError struct {
	Entry  string // the entry's name as the archive gives it; "" for the whole archive
	Reason string
	// TooLarge marks an archive over a limit (bytes, files, ratio): it
	// matches ErrTooLarge.
	TooLarge bool
}

// ErrTooLarge matches a RefusedError for an archive over one of the limits.
var ErrTooLarge = errors.New("archive over the limits")

// Unwrap lets errors.Is(err, ErrTooLarge) tell a size refusal.
func (e *RefusedError) Unwrap() error {
	if e.TooLarge {
		return ErrTooLarge
	}
	return nil
}

func (e *RefusedError) Error() string {
	if e.Entry == "" {
		return "archive refused: " + e.Reason
	}
	return fmt.Sprintf("archive entry %q refused: %s", e.Entry, e.Reason)
}

func refuse(entry, format string, args ...any) error {
	return &RefusedError{Entry: entry, Reason: fmt.Sprintf(format, args...)}
}

func refuseTooLarge(entry, format string, args ...any) error {
	return &RefusedError{Entry: entry, Reason: fmt.Sprintf(format, args...), TooLarge: true}
}
