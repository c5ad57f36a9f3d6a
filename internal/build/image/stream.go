package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// message is one object of the Engine's JSON progress stream (build, push,
// pull), the fields nonstop reads.
type message struct {
	Stream      string          `json:"stream"`
	Status      string          `json:"status"`
	ID          string          `json:"id"`
	Progress    json.RawMessage `json:"progressDetail"`
	Aux         json.RawMessage `json:"aux"`
	Error       string          `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// errorMessage is the message's error, "" when it carries none.
func (m *message) errorMessage() string {
	if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
		return m.ErrorDetail.Message
	}
	return m.Error
}

// hasProgress reports whether the message is a progress-bar update.
func (m *message) hasProgress() bool {
	return len(m.Progress) > 0 && string(m.Progress) != "{}" && string(m.Progress) != "null"
}

// decodeStream calls fn for each message of r until r ends, fn returns an
// error, or a message carries one (returned as a streamError).
func decodeStream(r io.Reader, fn func(*message) error) error {
	dec := json.NewDecoder(r)
	for {
		var m message
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read the Engine's progress stream: %w", err)
		}
		if err := fn(&m); err != nil {
			return err
		}
		if msg := m.errorMessage(); msg != "" {
			return &streamError{msg}
		}
	}
}

// streamError is an error the Engine reported inside a progress stream.
type streamError struct{ msg string }

func (e *streamError) Error() string { return e.msg }
