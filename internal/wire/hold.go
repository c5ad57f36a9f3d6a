package wire

import "time"

// Hold is an app's request hold: while it is set, the proxy holds the
// app's new requests, at most MaxQueue at once and none longer than MaxWait.
type Hold struct {
	MaxWait  time.Duration `json:"max_wait"`
	MaxQueue int           `json:"max_queue"`
	Since    time.Time     `json:"since"`
}

// HoldResult answers hold and unhold: what happened, in words, and the
// hold now in force (none after unhold).
type HoldResult struct {
	Result string `json:"result"`
	Hold   *Hold  `json:"hold"`
}
