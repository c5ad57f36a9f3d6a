// Package h1 is the HTTP/1.1 codec of nonstop's fast path: request and
// response heads parsed into buffers that are reused, bodies copied with
// their framing kept, and kept-alive backend connections with the rules
// for reusing them. It allocates nothing per message. Whatever it does not
// parse is marked Unusual, for the caller to hand to net/http, which knows
// it all; fuzz targets hold it to net/http's verdicts.
package h1

import (
	"bufio"
	"bytes"
	"errors"

	"golang.org/x/net/http/httpguts"
)

var (
	// ErrHeadTooLarge is a head longer than the limit given to Read.
	ErrHeadTooLarge = errors.New("head too large")
	// ErrBadHead is a head that is not HTTP/1.x.
	ErrBadHead = errors.New("malformed head")
)

// Field is one header, as offsets into Head.Raw: name Raw[NS:NE], value
// Raw[VS:VE] (without surrounding whitespace), the whole line Raw[NS:VE].
type Field struct{ NS, NE, VS, VE int }

// Head is a request or response head. Its slices are reused by the next
// Read: nothing of it may be kept past that.
type Head struct {
	Raw    []byte
	Fields []Field
	// Line is the first line without its CRLF: request or status line.
	Line [2]int

	// Status is a response's code, for the caller to set once parsed.
	Status int

	// From the headers.
	ContentLength int64 // -1: absent
	Chunked       bool
	Close         bool // Connection: close
	KeepAlive     bool // Connection: keep-alive (what an HTTP/1.0 answer needs to be reused)
	// ConnNames are the other headers the Connection header names: they
	// belong to this hop only and are not forwarded (RFC 9110 §7.6.1).
	ConnNames [][2]int
	// IdleHint is the idle time a Keep-Alive: timeout=N header announces
	// (seconds), 0 when none.
	IdleHint  int64
	Unusual   bool // something this codec does not handle: hand it to net/http
	Host      [2]int
	RequestID [2]int
}

func (h *Head) reset() {
	h.Shrink()
	h.Raw = h.Raw[:0]
	h.Fields = h.Fields[:0]
	h.ContentLength = -1
	h.Chunked, h.Close, h.KeepAlive, h.Unusual = false, false, false, false
	h.ConnNames = h.ConnNames[:0]
	h.IdleHint = 0
	h.Host, h.RequestID = [2]int{}, [2]int{}
}

// HTTP10 reports whether a response's status line says HTTP/1.0.
func (h *Head) HTTP10() bool {
	l := h.Bytes(h.Line)
	return len(l) > 7 && l[7] == '0'
}

func (h *Head) Bytes(r [2]int) []byte { return h.Raw[r[0]:r[1]] }
func (h *Head) Name(f Field) []byte   { return h.Raw[f.NS:f.NE] }
func (h *Head) Value(f Field) []byte  { return h.Raw[f.VS:f.VE] }

// ReadRequest reads a request head (request line and headers, up to the
// empty line) from br, at most max bytes of it. Lines may be longer than
// br's buffer. Empty lines before the request line are skipped (RFC 9112
// §2.2).
func (h *Head) ReadRequest(br *bufio.Reader, max int) error { return h.read(br, max, true) }

// ReadResponse reads a response head as ReadRequest does, but for the
// leading empty lines, which a response may not have.
func (h *Head) ReadResponse(br *bufio.Reader, max int) error { return h.read(br, max, false) }

func (h *Head) read(br *bufio.Reader, max int, skipEmpty bool) error {
	h.reset()
	first := true
	for {
		start := len(h.Raw)
		for {
			part, err := br.ReadSlice('\n')
			h.Raw = append(h.Raw, part...)
			if len(h.Raw) > max {
				return ErrHeadTooLarge
			}
			if err == bufio.ErrBufferFull {
				continue // a line longer than the buffer: read on
			}
			if err != nil {
				if len(h.Raw) > 0 {
					return ErrBadHead
				}
				return err
			}
			break
		}
		end := len(h.Raw) - 1
		if end > start && h.Raw[end-1] == '\r' {
			end--
		}
		if first {
			if end == start && skipEmpty {
				h.Raw = h.Raw[:0]
				continue
			}
			h.Line = [2]int{start, end}
			first = false
			continue
		}
		if end == start {
			return nil
		}
		if err := h.addField(start, end); err != nil {
			return err
		}
	}
}

// Shrink drops buffers grown by a large head, once it is no longer needed.
func (h *Head) Shrink() {
	if cap(h.Raw) > keptRaw {
		h.Raw = nil
	}
	if cap(h.Fields) > keptFields {
		h.Fields = nil
	}
}

// Request checks a request head for forwarding by this codec and returns
// its method and target. ok is false for what it leaves to net/http: a
// version other than HTTP/1.1, anything Unusual, hop-by-hop headers named
// by Connection, no Host, a target that is not origin-form ("/..."), or a
// method or target with characters HTTP does not allow there (net/http
// then answers 400).
func (h *Head) Request() (method, target []byte, ok bool) {
	method, target, proto, ok := RequestLine(h.Bytes(h.Line))
	if !ok || string(proto) != "HTTP/1.1" || h.Unusual || len(h.ConnNames) > 0 || h.Host[1] == 0 ||
		len(target) == 0 || target[0] != '/' {
		return nil, nil, false
	}
	for _, c := range method {
		if !tokenChar(c) {
			return nil, nil, false
		}
	}
	inPath := true
	for i, c := range target {
		switch {
		case c <= ' ' || c == 0x7f:
			return nil, nil, false
		case c == '?':
			inPath = false
		case c == '%' && inPath && (i+2 >= len(target) || !isHex(target[i+1]) || !isHex(target[i+2])):
			return nil, nil, false // net/http refuses a bad escape in the path
		}
	}
	if !httpguts.ValidHostHeader(string(h.Bytes(h.Host))) {
		return nil, nil, false
	}
	return method, target, true
}

// keptRaw and keptFields bound what a Head keeps between messages: a large
// head's buffers are dropped after it, so an idle connection does not
// hold the capacity of the largest head it ever read.
const (
	keptRaw    = 16 << 10
	keptFields = 128
)

func (h *Head) addField(start, end int) error {
	line := h.Raw[start:end]
	if line[0] == ' ' || line[0] == '\t' {
		h.Unusual = true // obsolete line folding: net/http refuses it properly
		return nil
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return ErrBadHead
	}
	for _, c := range line[:colon] {
		if c == ' ' || c == '\t' {
			return ErrBadHead
		}
		if !tokenChar(c) {
			h.Unusual = true // net/http refuses it with 400
		}
	}
	for _, c := range line[colon+1:] {
		if c < ' ' && c != '\t' || c == 0x7f {
			h.Unusual = true // control characters: net/http refuses them with 400
		}
	}
	vs, ve := start+colon+1, end
	for vs < ve && (h.Raw[vs] == ' ' || h.Raw[vs] == '\t') {
		vs++
	}
	for ve > vs && (h.Raw[ve-1] == ' ' || h.Raw[ve-1] == '\t') {
		ve--
	}
	f := Field{NS: start, NE: start + colon, VS: vs, VE: ve}
	h.Fields = append(h.Fields, f)
	h.classify(f)
	return nil
}

// classify notes what a forwarder must know of a header.
func (h *Head) classify(f Field) {
	name, v := h.Name(f), h.Value(f)
	switch {
	case Eq(name, "content-length"):
		n, ok := parseDec(v)
		if !ok || h.ContentLength >= 0 {
			h.Unusual = true // invalid or repeated: let net/http answer 400
			return
		}
		h.ContentLength = n
	case Eq(name, "transfer-encoding"):
		if !Eq(v, "chunked") || h.Chunked {
			h.Unusual = true
		}
		h.Chunked = true
	case Eq(name, "connection"):
		h.connectionTokens(f)
	case Eq(name, "keep-alive"):
		h.IdleHint = keepAliveTimeout(v)
	case Eq(name, "upgrade"), Eq(name, "expect"):
		h.Unusual = true
	case Eq(name, "host"):
		if h.Host[1] != 0 {
			h.Unusual = true
		}
		h.Host = [2]int{f.VS, f.VE}
	case Eq(name, "x-request-id"):
		h.RequestID = [2]int{f.VS, f.VE}
	}

}

// connectionTokens reads a Connection header's comma-separated options:
// close, keep-alive, and the names of other hop-by-hop headers.
func (h *Head) connectionTokens(f Field) {
	for i := f.VS; i < f.VE; {
		j := i
		for j < f.VE && h.Raw[j] != ',' {
			j++
		}
		s, e := i, j
		for s < e && (h.Raw[s] == ' ' || h.Raw[s] == '\t') {
			s++
		}
		for e > s && (h.Raw[e-1] == ' ' || h.Raw[e-1] == '\t') {
			e--
		}
		switch tok := h.Raw[s:e]; {
		case len(tok) == 0:
		case Eq(tok, "close"):
			h.Close = true
		case Eq(tok, "keep-alive"):
			h.KeepAlive = true
		default:
			h.ConnNames = append(h.ConnNames, [2]int{s, e})
		}
		i = j + 1
	}
}

// NamedByConnection reports whether the Connection header names n.
func (h *Head) NamedByConnection(n []byte) bool {
	for _, r := range h.ConnNames {
		if eqFold(n, h.Bytes(r)) {
			return true
		}
	}
	return false
}

// keepAliveTimeout reads the timeout=N parameter of a Keep-Alive header
// (seconds), 0 when there is none.
func keepAliveTimeout(v []byte) int64 {
	i := bytes.Index(v, []byte("timeout="))
	if i < 0 {
		return 0
	}
	v = v[i+len("timeout="):]
	j := 0
	for j < len(v) && '0' <= v[j] && v[j] <= '9' {
		j++
	}
	n, ok := parseDec(v[:j])
	if !ok {
		return 0
	}
	return n
}

// Ambiguous reports a request with two framings, the mark of a request
// smuggling attempt: refused, and the connection closed (RFC 9112 §6.1).
func (h *Head) Ambiguous() bool { return h.Chunked && h.ContentLength >= 0 }

// HopByHop reports whether a header belongs to one connection only and is
// not forwarded (RFC 9110 §7.6.1). Transfer-Encoding is forwarded: bodies
// are passed through with their framing.
func HopByHop(name []byte) bool {
	switch len(name) {
	case 2:
		return Eq(name, "te")
	case 7:
		return Eq(name, "upgrade") || Eq(name, "trailer")
	case 10:
		return Eq(name, "connection") || Eq(name, "keep-alive")
	case 16:
		return Eq(name, "proxy-connection")
	case 18:
		return Eq(name, "proxy-authenticate")
	case 19:
		return Eq(name, "proxy-authorization")
	}
	return false
}

// Eq compares b with a lowercase ASCII string, ignoring case.
func Eq(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// eqFold compares two ASCII byte strings, ignoring case.
func eqFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// RequestLine splits a request line into method, target and version.
func RequestLine(line []byte) (method, target, proto []byte, ok bool) {
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return nil, nil, nil, false
	}
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return nil, nil, nil, false
	}
	return line[:sp1], rest[:sp2], rest[sp2+1:], true
}

// StatusLine parses "HTTP/1.x CODE REASON" into the code and the rest.
func StatusLine(line []byte) (code int, rest []byte, ok bool) {
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[7] < '0' || line[7] > '9' || line[8] != ' ' ||
		len(line) > 12 && line[12] != ' ' {
		return 0, nil, false
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return 0, nil, false
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return 0, nil, false
	}
	return code, line[9:], true
}

// parseDec parses a non-negative decimal number of at most 18 digits.
func parseDec(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// tokenChar reports whether c may be in a header name (RFC 9110 §5.6.2).
func tokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
