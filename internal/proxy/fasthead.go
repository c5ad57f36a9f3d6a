package proxy

import (
	"bufio"
	"bytes"
	"errors"
)

// The fast path parses HTTP/1.1 heads itself, into buffers it reuses, so
// that a proxied request costs no allocation. Anything unusual is not
// parsed here: the connection is handed to net/http (see fastserver.go).

var (
	errHeadTooLarge = errors.New("request head too large")
	errBadHead      = errors.New("malformed head")
)

// field is one header, as offsets into head.raw (which may grow and move
// while the head is read).
type field struct{ ns, ne, vs, ve int }

// head is a request or response head.
type head struct {
	raw    []byte
	fields []field
	// line is the first line without its CRLF: request or status line.
	line [2]int

	// status is a response's code, once parsed.
	status int

	// From the headers.
	contentLength int64 // -1: absent
	chunked       bool
	close         bool // Connection: close
	keepAlive     bool // Connection: keep-alive (what an HTTP/1.0 answer needs to be reused)
	// connNames are the other headers the Connection header names: they
	// belong to this hop only and are not forwarded (RFC 9110 §7.6.1).
	connNames [][2]int
	// idleHint is the idle time a Keep-Alive: timeout=N header announces
	// (seconds), 0 when none.
	idleHint     int64
	unusual      bool // something the fast path does not handle
	host         [2]int
	requestID    [2]int
	bucket       int // from the nonstop_bucket cookie; -1: none
	forceRelease int // from X-Nonstop-Release; -1: none
}

func (h *head) reset() {
	h.raw = h.raw[:0]
	h.fields = h.fields[:0]
	h.contentLength = -1
	h.chunked, h.close, h.keepAlive, h.unusual = false, false, false, false
	h.connNames = h.connNames[:0]
	h.idleHint = 0
	h.host, h.requestID = [2]int{}, [2]int{}
	h.bucket, h.forceRelease = -1, -1
}

// http10 reports whether a response's status line says HTTP/1.0.
func (h *head) http10() bool {
	l := h.bytes(h.line)
	return len(l) > 7 && l[7] == '0'
}

func (h *head) bytes(r [2]int) []byte { return h.raw[r[0]:r[1]] }
func (h *head) name(f field) []byte   { return h.raw[f.ns:f.ne] }
func (h *head) value(f field) []byte  { return h.raw[f.vs:f.ve] }

// read reads a head (first line and headers, up to the empty line) from br.
func (h *head) read(br *bufio.Reader, max int) error {
	h.reset()
	first := true
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return errHeadTooLarge
		}
		if err != nil {
			if len(h.raw) > 0 || len(line) > 0 {
				return errBadHead
			}
			return err
		}
		start := len(h.raw)
		h.raw = append(h.raw, line...)
		if len(h.raw) > max {
			return errHeadTooLarge
		}
		end := len(h.raw) - 1
		if end > start && h.raw[end-1] == '\r' {
			end--
		}
		if first {
			if end == start && len(h.fields) == 0 && start == 0 {
				h.raw = h.raw[:0] // tolerate an empty line before a request (RFC 9112 §2.2)
				continue
			}
			h.line = [2]int{start, end}
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

func (h *head) addField(start, end int) error {
	line := h.raw[start:end]
	if line[0] == ' ' || line[0] == '\t' {
		h.unusual = true // obsolete line folding: net/http refuses it properly
		return nil
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return errBadHead
	}
	for _, c := range line[:colon] {
		if c == ' ' || c == '\t' {
			return errBadHead
		}
		if !tokenChar(c) {
			h.unusual = true // net/http refuses it with 400
		}
	}
	for _, c := range line[colon+1:] {
		if c == '\r' || c == 0 {
			h.unusual = true
		}
	}
	vs, ve := start+colon+1, end
	for vs < ve && (h.raw[vs] == ' ' || h.raw[vs] == '\t') {
		vs++
	}
	for ve > vs && (h.raw[ve-1] == ' ' || h.raw[ve-1] == '\t') {
		ve--
	}
	f := field{ns: start, ne: start + colon, vs: vs, ve: ve}
	h.fields = append(h.fields, f)
	h.classify(f)
	return nil
}

// classify notes what the proxy must know of a header.
func (h *head) classify(f field) {
	name, v := h.name(f), h.value(f)
	switch {
	case eq(name, "content-length"):
		n, ok := parseDec(v)
		if !ok || h.contentLength >= 0 {
			h.unusual = true // invalid or repeated: let net/http answer 400
			return
		}
		h.contentLength = n
	case eq(name, "transfer-encoding"):
		if !eq(v, "chunked") || h.chunked {
			h.unusual = true
		}
		h.chunked = true
	case eq(name, "connection"):
		h.connectionTokens(f)
	case eq(name, "keep-alive"):
		h.idleHint = keepAliveTimeout(v)
	case eq(name, "upgrade"), eq(name, "expect"):
		h.unusual = true
	case eq(name, "host"):
		if h.host[1] != 0 {
			h.unusual = true
		}
		h.host = [2]int{f.vs, f.ve}
	case eq(name, "x-request-id"):
		h.requestID = [2]int{f.vs, f.ve}
	case eq(name, "cookie"):
		if h.bucket < 0 {
			h.bucket = parseBucket(v)
		}
	case eq(name, "x-nonstop-release"):
		if h.forceRelease < 0 {
			h.forceRelease = parseRelease(v)
		}
	}

}

// connectionTokens reads a Connection header's comma-separated options:
// close, keep-alive, and the names of other hop-by-hop headers.
func (h *head) connectionTokens(f field) {
	for i := f.vs; i < f.ve; {
		j := i
		for j < f.ve && h.raw[j] != ',' {
			j++
		}
		s, e := i, j
		for s < e && (h.raw[s] == ' ' || h.raw[s] == '\t') {
			s++
		}
		for e > s && (h.raw[e-1] == ' ' || h.raw[e-1] == '\t') {
			e--
		}
		switch tok := h.raw[s:e]; {
		case len(tok) == 0:
		case eq(tok, "close"):
			h.close = true
		case eq(tok, "keep-alive"):
			h.keepAlive = true
		default:
			h.connNames = append(h.connNames, [2]int{s, e})
		}
		i = j + 1
	}
}

// namedByConnection reports whether the Connection header names n.
func (h *head) namedByConnection(n []byte) bool {
	for _, r := range h.connNames {
		if eqFold(n, h.bytes(r)) {
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

// ambiguous reports a request with two framings, the mark of a request
// smuggling attempt: refused, and the connection closed (RFC 9112 §6.1).
func (h *head) ambiguous() bool { return h.chunked && h.contentLength >= 0 }

// hopByHop reports whether a header belongs to one connection only and is
// not forwarded (RFC 9110 §7.6.1). Transfer-Encoding is forwarded: bodies
// are passed through with their framing.
func hopByHop(name []byte) bool {
	switch len(name) {
	case 2:
		return eq(name, "te")
	case 7:
		return eq(name, "upgrade") || eq(name, "trailer")
	case 10:
		return eq(name, "connection") || eq(name, "keep-alive")
	case 16:
		return eq(name, "proxy-connection")
	case 18:
		return eq(name, "proxy-authenticate")
	case 19:
		return eq(name, "proxy-authorization")
	}
	return false
}

// eq compares b with a lowercase ASCII string, ignoring case.
func eq(b []byte, lower string) bool {
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

// requestLine splits a request line into method, target and version.
func requestLine(line []byte) (method, target, proto []byte, ok bool) {
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

// statusLine parses "HTTP/1.x CODE REASON" into the code and the rest.
func statusLine(line []byte) (code int, rest []byte, ok bool) {
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, nil, false
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return 0, nil, false
		}
		code = code*10 + int(c-'0')
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

// parseHex parses a chunk size: hex digits, then optional extensions.
func parseHex(b []byte) (int64, bool) {
	var n int64
	digits := 0
	for _, c := range b {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		case c == ';' || c == ' ' || c == '\t' || c == '\r' || c == '\n':
			return n, digits > 0
		default:
			return 0, false
		}
		if digits++; digits > 15 {
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, digits > 0
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
