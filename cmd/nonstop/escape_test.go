package main

import (
	"strings"
	"testing"
)

func TestEscaper_ATerminalShowsAnAppsControlCharactersAndDoesNotObeyThem(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain line\n", "plain line\n"},
		{"tab\tand newline\n", "tab\tand newline\n"},
		{"\x1b[2J\x1b]0;owned\x07cleared", `\x1b[2J\x1b]0;owned\x07cleared`},
		{"carriage\rreturn", `carriage\x0dreturn`},
		{"del\x7f", `del\x7f`},
		{"C1 \u009b31m csi", `C1 \u009b31m csi`},
		{"héllo wörld ✓\n", "héllo wörld ✓\n"},
		{"bad \xff byte", `bad \xff byte`},
	} {
		var b strings.Builder
		if _, err := (&escaper{w: &b}).Write([]byte(c.in)); err != nil {
			t.Fatal(err)
		}
		if b.String() != c.want {
			t.Errorf("%q written as %q, want %q", c.in, b.String(), c.want)
		}
	}
	// A rune cut in two by the stream is written whole.
	var b strings.Builder
	e := &escaper{w: &b}
	s := []byte("✓ done")
	e.Write(s[:1])
	e.Write(s[1:])
	if b.String() != "✓ done" {
		t.Errorf("a rune across two writes: %q", b.String())
	}
}
