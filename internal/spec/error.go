package spec

import (
	"fmt"
	"strings"
)

// An Error is one mistake in an app spec. Parse, Load and Validate return
// them, joined with errors.Join when there are several; use errors.As to
// read one.
type Error struct {
	File string // FileName when the spec was read from a file, else ""
	Line int    // 1-based line in File; 0 when unknown
	Key  string // key path, e.g. "deploy.max_surge"; "" for the whole file
	Msg  string
}

// Error formats as "nonstop.yaml:7: health.interval: invalid duration ...".
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}
