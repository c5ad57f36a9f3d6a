package h1

import (
	"bufio"
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

// CopyChunked copies a chunked body up to and including its trailers. With
// max > 0, a body whose chunks add up to more fails with ErrBodyTooLarge.
func CopyChunked(dst *bufio.Writer, src *bufio.Reader, max int64) error {
	var total int64
	for {
		if err := fill(dst, src); err != nil {
			return unexpected(err)
		}
		line, err := src.ReadSlice('\n')
		if err != nil {
			return readErr(err)
		}
		size, ok := parseHex(line)
		if !ok {
			return readErr(errors.New("malformed chunk size"))
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

func copyCRLF(dst *bufio.Writer, src *bufio.Reader) error {
	if err := fill(dst, src); err != nil {
		return unexpected(err)
	}
	line, err := src.ReadSlice('\n')
	if err != nil {
		return readErr(err)
	}
	if len(line) > 2 || (len(line) == 2 && line[0] != '\r') {
		return readErr(errors.New("malformed chunk end"))
	}
	if _, err = dst.Write(line); err != nil {
		return writeErr(err)
	}
	return nil
}

// copyTrailers copies trailer lines up to the empty line that ends the body.
func copyTrailers(dst *bufio.Writer, src *bufio.Reader) error {
	for {
		if err := fill(dst, src); err != nil {
			return unexpected(err)
		}
		line, err := src.ReadSlice('\n')
		if err != nil {
			return readErr(err)
		}
		if _, err := dst.Write(line); err != nil {
			return writeErr(err)
		}
		if len(line) <= 2 {
			return nil
		}
	}
}

// unexpected turns an end of input where more was due into a read error.
func unexpected(err error) error {
	if err == io.EOF {
		return readErr(err)
	}
	return err
}
