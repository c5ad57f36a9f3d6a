package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// wrkResult is what one wrk run reports.
type wrkResult struct {
	Requests   int64
	RPS        float64
	P50, P99   time.Duration
	Connect    int64 // socket errors, by kind
	Read       int64
	Write      int64
	Timeout    int64
	Non2xx3xx  int64 // "Non-2xx or 3xx responses"
	HasLatency bool  // the run printed a latency distribution
}

func (r wrkResult) socketErrors() int64 { return r.Connect + r.Read + r.Write + r.Timeout }

// wrkArgs is one wrk run against addr with Host benchHost.
type wrkArgs struct {
	threads, conns int
	duration       time.Duration
}

func runWrk(ctx context.Context, ps *procs, name, addr string, a wrkArgs) (wrkResult, error) {
	secs := max(1, int(a.duration.Round(time.Second)/time.Second))
	out, err := ps.run(ctx, name, "wrk",
		"-t", strconv.Itoa(a.threads), "-c", strconv.Itoa(a.conns), "-d", fmt.Sprintf("%ds", secs),
		"--timeout", "10s", "--latency", "-H", "Host: "+benchHost, "http://"+addr+"/")
	if err != nil {
		return wrkResult{}, err
	}
	return parseWrk(out)
}

var (
	wrkTotal    = regexp.MustCompile(`(?m)^\s*(\d+) requests in `)
	wrkRPS      = regexp.MustCompile(`(?m)^Requests/sec:\s*([0-9.]+)`)
	wrkPct      = regexp.MustCompile(`(?m)^\s*(50|99)(?:\.0+)?%\s+([0-9.]+)(us|ms|s|m)\s*$`)
	wrkSocket   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xx3x = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// parseWrk reads wrk's report (run with --latency).
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := wrkTotal.FindStringSubmatch(out)
	rps := wrkRPS.FindStringSubmatch(out)
	if m == nil || rps == nil {
		return r, fmt.Errorf("wrk: no request count in its output:\n%s", out)
	}
	r.Requests, _ = strconv.ParseInt(m[1], 10, 64)
	r.RPS, _ = strconv.ParseFloat(rps[1], 64)
	for _, p := range wrkPct.FindAllStringSubmatch(out, -1) {
		d, err := parseWrkDuration(p[2], p[3])
		if err != nil {
			return r, err
		}
		if p[1] == "50" {
			r.P50 = d
		} else {
			r.P99 = d
		}
		r.HasLatency = true
	}
	if s := wrkSocket.FindStringSubmatch(out); s != nil {
		r.Connect, _ = strconv.ParseInt(s[1], 10, 64)
		r.Read, _ = strconv.ParseInt(s[2], 10, 64)
		r.Write, _ = strconv.ParseInt(s[3], 10, 64)
		r.Timeout, _ = strconv.ParseInt(s[4], 10, 64)
	}
	if s := wrkNon2xx3x.FindStringSubmatch(out); s != nil {
		r.Non2xx3xx, _ = strconv.ParseInt(s[1], 10, 64)
	}
	return r, nil
}

// parseWrkDuration reads wrk's times: "537.00us", "1.01ms", "2.00s", "1.50m".
func parseWrkDuration(num, unit string) (time.Duration, error) {
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("wrk: latency %q: %w", num+unit, err)
	}
	scale := map[string]float64{"us": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9}[unit]
	return time.Duration(v * scale), nil
}
