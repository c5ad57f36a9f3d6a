package h1

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Body copies that keep HTTP/1.1 framing as it is: Content-Length bodies
// byte for byte, chunked bodies chunk for chunk. Before each read that may
// block, what is buffered for the other side is flushed, so streams (SSE,
// long polls, downloads) flow as they are produced.

var (
	// ErrBodyTooLarge is a chunked body over the limit given to CopyChunked.
	ErrBodyTooLarge = errors.New("body too large")
	// ErrRead and ErrWrite tell which side of a copy failed.
	ErrRead  = errors.New("read failed")
	ErrWrite = errors.New("write failed")
)

func readErr(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%w: %w", ErrRead, err)
}

func writeErr(err error) error { return fmt.Errorf("%w: %w", ErrWrite, err) }

// fill makes sure src has buffered data, flushing dst before it blocks.
func fill(dst *bufio.Writer, src *bufio.Reader) error {
	if src.Buffered() > 0 {
		return nil
	}
	if dst.Buffered() > 0 {
		if err := dst.Flush(); err != nil {
			return writeErr(err)
		}
	}
	if _, err := src.Peek(1); err != nil {
		if err == io.EOF {
			return err // the caller decides whether the end is expected
		}
		return readErr(err)
	}
	return nil
}

// CopyN copies exactly n bytes.
func CopyN(dst *bufio.Writer, src *bufio.Reader, n int64) error {
	for n > 0 {
		if err := fill(dst, src); err != nil {
			return unexpected(err)
		}
		k := min(int64(src.Buffered()), n)
		b, _ := src.Peek(int(k))
		if _, err := dst.Write(b); err != nil {
			return writeErr(err)
		}
		src.Discard(int(k))
		n -= k
	}
	return nil
}

// CopyUntilEOF copies everything up to the end of src.
func CopyUntilEOF(dst *bufio.Writer, src *bufio.Reader) error {
	for {
		if err := fill(dst, src); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		b, _ := src.Peek(src.Buffered())
		if _, err := dst.Write(b); err != nil {
			return writeErr(err)
		}
		src.Discard(len(b))
	}
}

// Limits of chunked framing, as net/http has them: a chunk-size line of at
// most maxChunkLine bytes, and no more than maxChunkExcess bytes of
// framing and extensions beyond 16 per chunk plus twice its data.
const (
	maxChunkLine   = 4096
	maxChunkExcess = 16 << 10
)

var (
	errChunkLine   = errors.New("malformed chunk size line")
	errChunkEnd    = errors.New("malformed chunk end: want CRLF")
	errTrailer     = errors.New("malformed trailer")
	errChunkExcess = errors.New("chunked encoding contains too much non-data")
)

// CopyChunked copies a chunked body up to and including its trailers,
// refusing what RFC 9112 §7.1 does not allow (as net/http does): lines not
// ended by CRLF, a CR elsewhere, sizes that are not hex digits, data not
// followed by CRLF, trailer lines that are not header fields. With max > 0,
// a body whose chunks add up to more fails with ErrBodyTooLarge.
func CopyChunked(dst *bufio.Writer, src *bufio.Reader, max int64) error {
	var total, excess int64
	for {
		line, err := readLine(dst, src)
		if err != nil {
			return err
		}
		if len(line) >= maxChunkLine+2 {
			return readErr(errChunkLine)
		}
		size, ok := chunkSize(line[:len(line)-2])
		if !ok {
			return readErr(errChunkLine)
		}
		excess = max64(excess+int64(len(line))-16-2*size, 0)
		if excess > maxChunkExcess {
			return readErr(errChunkExcess)
		}
		if total += size; max > 0 && total > max {
			return ErrBodyTooLarge
		}
		if _, err := dst.Write(line); err != nil {
			return writeErr(err)
		}
		if size == 0 {
			return copyTrailers(dst, src)
		}
		if err := CopyN(dst, src, size); err != nil {
			return err
		}
		if err := copyCRLF(dst, src); err != nil {
			return err
		}
	}
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// readLine reads one line ending in CRLF, with no CR before that, flushing
// dst before it blocks.
func readLine(dst *bufio.Writer, src *bufio.Reader) ([]byte, error) {
	if err := fill(dst, src); err != nil {
		return nil, unexpected(err)
	}
	line, err := src.ReadSlice('\n')
	if err != nil {
		return nil, readErr(err)
	}
	if i := bytes.IndexByte(line, '\r'); len(line) < 2 || i != len(line)-2 {
		return nil, readErr(errChunkLine) // a bare LF, or a CR inside
	}
	return line, nil
}

// chunkSize parses a chunk-size line without its CRLF: hex digits, then
// extensions (";...", not interpreted), then optional whitespace; as
// net/http does, whitespace before a ';' is refused.
func chunkSize(b []byte) (int64, bool) {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	if i := bytes.IndexByte(b, ';'); i >= 0 {
		b = b[:i]
	}
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		if n > (1<<62)>>4 {
			return 0, false // no body is that large
		}
		n = n<<4 | int64(d)
	}
	return n, true
}

func copyCRLF(dst *bufio.Writer, src *bufio.Reader) error {
	if err := fill(dst, src); err != nil {
		return unexpected(err)
	}
	b, err := src.Peek(2)
	if err != nil {
		if len(b) == 0 || b[0] == '\r' {
			return readErr(unexpectedEOF(err))
		}
		return readErr(errChunkEnd)
	}
	if b[0] != '\r' || b[1] != '\n' {
		return readErr(errChunkEnd)
	}
	if _, err = dst.Write(b); err != nil {
		return writeErr(err)
	}
	src.Discard(2)
	return nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// copyTrailers copies trailer fields up to the empty line that ends the
// body: each a header field ("name: value", a token name, no control
// characters in the value) ended by CRLF.
func copyTrailers(dst *bufio.Writer, src *bufio.Reader) error {
	for {
		if err := fill(dst, src); err != nil {
			return unexpected(err)
		}
		line, err := src.ReadSlice('\n')
		if err != nil {
			return readErr(err)
		}
		if len(line) < 2 || line[len(line)-2] != '\r' || !validTrailer(line[:len(line)-2]) {
			return readErr(errTrailer)
		}
		if _, err := dst.Write(line); err != nil {
			return writeErr(err)
		}
		if len(line) == 2 {
			return nil
		}
	}
}

// validTrailer reports whether line (without CRLF) is empty or a field.
func validTrailer(line []byte) bool {
	if len(line) == 0 {
		return true
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return false
	}
	for i, c := range line[:colon] {
		// net/http's textproto takes spaces inside trailer names (not
		// first: that is a folded line).
		if !tokenChar(c) && !(c == ' ' && i > 0) {
			return false
		}
	}
	for _, c := range line[colon+1:] {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// unexpected turns an end of input where more was due into a read error.
func unexpected(err error) error {
	if err == io.EOF {
		return readErr(err)
	}
	return err
}
