package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// Differential fuzzing: the same bytes go to this codec and to net/http,
// which is the reference (the proxy hands net/http whatever this codec
// leaves alone). Where this codec takes a message itself, net/http must
// take it too and read it the same way; where this codec refuses one,
// net/http must refuse it too. The one refusal net/http does not share is
// by design: a request with both Content-Length and Transfer-Encoding
// (RFC 9112 §6.1 lets a server refuse it; it is how requests are smuggled);
// and trailer lines ended by a bare LF or folded (obs-fold), which
// net/http's textproto takes but a backend may not read the same way (the
// body would end elsewhere for it; RFC 9112 §5.2 allows refusing a fold);
// and one normalisation: empty lines before a request line are skipped, as
// RFC 9112 §2.2 asks (net/http's parser is given the request without them).
//
// The seed corpora in testdata/fuzz hold smuggling vectors and every case
// found so far; `go test` replays them, `make fuzz` explores further.

const fuzzMaxHead = 64 << 10

// netHTTPServerRefuses is what net/http's server refuses after
// http.ReadRequest has parsed req from data (server.go's readRequest):
// HTTP/1.1 without a Host header, or with a malformed one, and fields
// with invalid names or values.
func netHTTPServerRefuses(req *http.Request, data []byte) bool {
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(data)))
	tp.ReadLine()
	hdr, _ := tp.ReadMIMEHeader()
	hosts, haveHost := hdr["Host"]
	if req.ProtoAtLeast(1, 1) && (!haveHost || len(hosts) == 0) || len(hosts) == 1 && !httpguts.ValidHostHeader(hosts[0]) {
		return true
	}
	for k, vv := range req.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return true
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return true
			}
		}
	}
	return false
}

func FuzzRequestHead(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var h Head
		err := h.ReadRequest(bufio.NewReaderSize(bytes.NewReader(data), 8<<10), fuzzMaxHead)
		req, goErr := http.ReadRequest(bufio.NewReaderSize(bytes.NewReader(skipEmptyLines(data)), 8<<10))
		goRefuses := goErr != nil || netHTTPServerRefuses(req, skipEmptyLines(data))
		switch {
		case errors.Is(err, ErrHeadTooLarge):
			return // a limit of the server's, not a parse
		case err != nil:
			if !goRefuses {
				t.Fatalf("refused (%v) what net/http takes: %q", err, data)
			}
			return
		case h.Ambiguous():
			return // refused by design (see above)
		}
		method, target, ok := h.Request()
		if !ok {
			return // net/http's to answer
		}
		if goRefuses {
			t.Fatalf("forwards what net/http refuses (%v): %q", goErr, data)
		}
		if req.Method != string(method) || req.RequestURI != string(target) || req.Host != string(h.Bytes(h.Host)) {
			t.Fatalf("read %s %s host %q, net/http %s %s host %q: %q", method, target, h.Bytes(h.Host), req.Method, req.RequestURI, req.Host, data)
		}
		chunked := len(req.TransferEncoding) == 1 && req.TransferEncoding[0] == "chunked"
		if h.Chunked != chunked || !h.Chunked && max(h.ContentLength, 0) != req.ContentLength {
			t.Fatalf("framing chunked=%v length %d, net/http %v %d: %q", h.Chunked, h.ContentLength, req.TransferEncoding, req.ContentLength, data)
		}
		sameFields(t, &h, req.Header, data, "host", "transfer-encoding", "content-length")
	})
}

// skipEmptyLines drops the empty lines a request may start with.
func skipEmptyLines(b []byte) []byte {
	for {
		switch {
		case bytes.HasPrefix(b, []byte("\r\n")):
			b = b[2:]
		case bytes.HasPrefix(b, []byte("\n")):
			b = b[1:]
		default:
			return b
		}
	}
}

// sameFields checks that h's fields (but those skipped) are hdr's.
func sameFields(t *testing.T, h *Head, hdr http.Header, data []byte, skip ...string) {
	t.Helper()
	mine := http.Header{}
	for _, f := range h.Fields {
		name := string(h.Name(f))
		if !contains(skip, strings.ToLower(name)) {
			mine.Add(textproto.CanonicalMIMEHeaderKey(name), string(h.Value(f)))
		}
	}
	for _, s := range skip {
		hdr = hdr.Clone()
		hdr.Del(s)
	}
	if len(mine) != len(hdr) {
		t.Fatalf("fields %v, net/http %v: %q", mine, hdr, data)
	}
	for k, v := range mine {
		if strings.Join(v, "\x00") != strings.Join(hdr[k], "\x00") {
			t.Fatalf("field %s = %q, net/http %q: %q", k, v, hdr[k], data)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func FuzzResponseHead(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var h Head
		err := h.ReadResponse(bufio.NewReaderSize(bytes.NewReader(data), 8<<10), fuzzMaxHead)
		resp, goErr := http.ReadResponse(bufio.NewReaderSize(bytes.NewReader(data), 8<<10), &http.Request{Method: http.MethodGet})
		if errors.Is(err, ErrHeadTooLarge) {
			return
		}
		code, _, ok := 0, []byte(nil), err == nil
		if ok {
			code, _, ok = StatusLine(h.Bytes(h.Line))
		}
		// What the proxy takes from a backend (fastforward.go's exchange).
		takes := ok && code != http.StatusSwitchingProtocols && !h.Unusual
		if !takes {
			return // a 502: the backend's answer is refused (that net/http might read it is no risk)
		}
		if goErr != nil {
			t.Fatalf("takes an answer net/http refuses (%v): %q", goErr, data)
		}
		if resp.StatusCode != code {
			t.Fatalf("status %d, net/http %d: %q", code, resp.StatusCode, data)
		}
		if code < 200 || code == http.StatusNoContent || code == http.StatusNotModified {
			return // no body either way
		}
		chunked := len(resp.TransferEncoding) == 1 && resp.TransferEncoding[0] == "chunked"
		switch {
		case h.Chunked != chunked:
			t.Fatalf("chunked %v, net/http %v: %q", h.Chunked, resp.TransferEncoding, data)
		case !h.Chunked && h.ContentLength != resp.ContentLength:
			t.Fatalf("length %d, net/http %d: %q", h.ContentLength, resp.ContentLength, data)
		}
		sameFields(t, &h, resp.Header, data, "transfer-encoding", "content-length")
	})
}

func FuzzChunkedBody(f *testing.F) {
	const head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	f.Fuzz(func(t *testing.T, data []byte) {
		// net/http's reading of it, as a request body.
		full := append([]byte(head), data...)
		src := bytes.NewReader(full)
		gbr := bufio.NewReaderSize(src, 8<<10)
		req, err := http.ReadRequest(gbr)
		if err != nil {
			t.Fatalf("the head: %v", err)
		}
		_, goErr := io.ReadAll(req.Body)
		goUsed := len(full) - gbr.Buffered() - src.Len() - len(head)

		var out bytes.Buffer
		in := bytes.NewReader(data)
		br := bufio.NewReaderSize(in, 8<<10)
		bw := bufio.NewWriter(&out)
		err = CopyChunked(bw, br, 0)
		bw.Flush()
		used := len(data) - br.Buffered() - in.Len()
		switch {
		case goErr != nil && err == nil:
			t.Fatalf("takes a body net/http refuses (%v): %q", goErr, data)
		case goErr == nil && err != nil && !(errors.Is(err, errTrailer) && (hasBareLF(data) || bytes.Contains(data, []byte("\n ")) || bytes.Contains(data, []byte("\n\t")))):
			t.Fatalf("refuses (%v) a body net/http takes: %q", err, data)
		case goErr == nil && err != nil:
			// refused by design (see above)
		case err == nil && used != goUsed:
			t.Fatalf("the body ends after %d bytes, for net/http after %d: %q", used, goUsed, data)
		case err == nil && !bytes.Equal(out.Bytes(), data[:used]):
			t.Fatalf("relayed %q of %q", out.Bytes(), data[:used])
		}
	})
}

// hasBareLF reports whether b has an LF without a CR before it.
func hasBareLF(b []byte) bool {
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			return true
		}
	}
	return false
}
