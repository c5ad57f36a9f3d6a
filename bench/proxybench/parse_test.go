package main

import (
	"testing"
	"time"
)

// wrkSwitchOutput is wrk 4.1.0's report of a run through an nginx reload.
const wrkSwitchOutput = `Running 10s test @ http://127.0.0.1:45703/
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.73ms    9.35ms 118.80ms   96.53%
    Req/Sec    13.98k     4.13k   20.06k    70.41%
  Latency Distribution
     50%    0.96ms
     75%    1.47ms
     90%    2.36ms
     99%   55.56ms
  137278 requests in 10.03s, 23.40MB read
  Socket errors: connect 0, read 22, write 1, timeout 3
  Non-2xx or 3xx responses: 2718
Requests/sec:  13689.53
Transfer/sec:      2.33MB
`

// wrkCleanOutput has no error lines (wrk prints them only when non-zero)
// and latencies in microseconds and seconds.
const wrkCleanOutput = `Running 3s test @ http://127.0.0.1:33369/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   652.07us  514.06us  14.13ms   93.05%
    Req/Sec    41.17k     4.37k   50.15k    72.50%
  Latency Distribution
     50%  537.00us
     75%  744.00us
     90%    1.01ms
     99%    1.20s
  245678 requests in 3.00s, 31.40MB read
Requests/sec:  81894.12
Transfer/sec:     10.47MB
`

func TestParseWrk_ReadsCountsLatenciesAndErrors(t *testing.T) {
	r, err := parseWrk(wrkSwitchOutput)
	if err != nil {
		t.Fatal(err)
	}
	want := wrkResult{Requests: 137278, RPS: 13689.53, P50: 960 * time.Microsecond, P99: 55560 * time.Microsecond,
		Read: 22, Write: 1, Timeout: 3, Non2xx3xx: 2718, HasLatency: true}
	if r != want {
		t.Fatalf("got %+v\nwant %+v", r, want)
	}
	if r.socketErrors() != 26 {
		t.Fatalf("socket errors = %d, want 26", r.socketErrors())
	}
}

func TestParseWrk_NoErrorLinesMeansZero(t *testing.T) {
	r, err := parseWrk(wrkCleanOutput)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 245678 || r.RPS != 81894.12 || r.socketErrors() != 0 || r.Non2xx3xx != 0 {
		t.Fatalf("got %+v", r)
	}
	if r.P50 != 537*time.Microsecond || r.P99 != 1200*time.Millisecond {
		t.Fatalf("p50 %s, p99 %s", r.P50, r.P99)
	}
}

func TestParseWrk_FailsWithoutAReport(t *testing.T) {
	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused\n"); err == nil {
		t.Fatal("no error for output without a report")
	}
}

// heyOutput is the end of hey 0.1.4's report, with an error section.
const heyOutput = `
Summary:
  Total:	10.0079 secs
  Slowest:	0.1196 secs
  Fastest:	0.0001 secs
  Average:	0.0012 secs
  Requests/sec:	13597.1234

  Total data:	2138511 bytes
  Size/request:	15 bytes

Latency distribution:
  10% in 0.0005 secs
  99% in 0.0041 secs

Details (average, fastest, slowest):
  DNS+dialup:	0.0000 secs, 0.0001 secs, 0.1196 secs
  resp read:	0.0000 secs, 0.0000 secs, 0.0131 secs

Status code distribution:
  [200]	133439 responses
  [502]	2572 responses
  [503]	3 responses

Error distribution:
  [2]	Get "http://127.0.0.1:45703/": read tcp 127.0.0.1:51234->127.0.0.1:45703: read: connection reset by peer
  [1]	Get "http://127.0.0.1:45703/": read tcp 127.0.0.1:51240->127.0.0.1:45703: read: connection reset by peer
  [4]	Get "http://127.0.0.1:45703/": EOF

`

func TestParseHey_CountsStatusesAndFoldsErrorsByKind(t *testing.T) {
	r, err := parseHey(heyOutput)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status[200] != 133439 || r.non2xx() != 2575 || r.errors() != 7 || r.requests() != 133439+2575+7 {
		t.Fatalf("got %+v", r)
	}
	reset := `Get "http://ADDR/": read tcp ADDR->ADDR: read: connection reset by peer`
	if r.Errors[reset] != 3 || len(r.Errors) != 2 {
		t.Fatalf("errors not folded by kind: %v", r.Errors)
	}
}

func TestParseHey_NoErrorSectionMeansZero(t *testing.T) {
	out := "Summary:\n  Total:\t1.0 secs\n\nStatus code distribution:\n  [200]\t10 responses\n\n"
	r, err := parseHey(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.requests() != 10 || r.errors() != 0 || r.non2xx() != 0 {
		t.Fatalf("got %+v", r)
	}
}

func TestParseHey_FailsWithoutASummary(t *testing.T) {
	if _, err := parseHey("Get http://x: dial tcp: connection refused\n"); err == nil {
		t.Fatal("no error for output without a summary")
	}
}
