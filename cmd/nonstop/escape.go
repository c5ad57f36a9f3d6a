package main

import (
	"fmt"
	"io"
	"unicode/utf8"
)

// escaper writes what an app printed so that a terminal shows it and does
// not obey it: control characters other than newline and tab (escape
// sequences that move the cursor, retitle the window, rewrite the
// clipboard) are written as \x1b and the like. Runes split across writes
// are put back together.
type escaper struct {
	w       io.Writer
	pending []byte // the start of a rune cut by the end of a write
}

func (e *escaper) Write(p []byte) (int, error) {
	data := append(e.pending, p...)
	e.pending = nil
	out := make([]byte, 0, len(data))
	for i := 0; i < len(data); {
		c := data[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
				out = fmt.Appendf(out, `\x%02x`, c)
			} else {
				out = append(out, c)
			}
			i++
			continue
		}
		if !utf8.FullRune(data[i:]) {
			e.pending = append([]byte(nil), data[i:]...)
			break
		}
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			out = fmt.Appendf(out, `\x%02x`, c)
		case r >= 0x80 && r <= 0x9f: // C1 controls (CSI and the like)
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, data[i:i+size]...)
		}
		i += size
	}
	if _, err := e.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
