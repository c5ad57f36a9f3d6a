package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// heyResult is what one hey run reports: responses by status code, and
// errors (no response at all) by message.
type heyResult struct {
	Status map[int]int64
	Errors map[string]int64
}

func (h heyResult) requests() int64 { return sum(h.Status) + sum(h.Errors) }

// non2xx counts responses whose status is not 2xx.
func (h heyResult) non2xx() int64 {
	var n int64
	for code, c := range h.Status {
		if code < 200 || code > 299 {
			n += c
		}
	}
	return n
}

func (h heyResult) errors() int64 { return sum(h.Errors) }

func sum[K comparable](m map[K]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// runHey runs hey with conns workers for d against addr, Host benchHost.
func runHey(ctx context.Context, ps *procs, name, addr string, conns int, d time.Duration) (heyResult, error) {
	out, err := ps.run(ctx, name, "hey", "-z", d.String(), "-c", strconv.Itoa(conns), "-t", "10",
		"-host", benchHost, "http://"+addr+"/")
	if err != nil {
		return heyResult{}, err
	}
	return parseHey(out)
}

var (
	heyStatus = regexp.MustCompile(`^\s*\[(\d{3})\]\s+(\d+) responses`)
	heyError  = regexp.MustCompile(`^\s*\[(\d+)\]\s+(.*)$`)
	// hey counts errors by message, which names the connection's ports:
	// they are folded so that one kind of error is one line.
	hostPort = regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}:\d+\b`)
)

// parseHey reads hey's summary report: its "Status code distribution"
// and "Error distribution" sections.
func parseHey(out string) (heyResult, error) {
	r := heyResult{Status: map[int]int64{}, Errors: map[string]int64{}}
	if !strings.Contains(out, "Summary:") {
		return r, fmt.Errorf("hey: no summary in its output:\n%s", out)
	}
	section := ""
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(line, "Status code distribution:"):
			section = "status"
			continue
		case strings.HasPrefix(line, "Error distribution:"):
			section = "errors"
			continue
		case line != "" && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t"):
			section = ""
			continue
		}
		switch section {
		case "status":
			if m := heyStatus.FindStringSubmatch(line); m != nil {
				code, _ := strconv.Atoi(m[1])
				n, _ := strconv.ParseInt(m[2], 10, 64)
				r.Status[code] += n
			}
		case "errors":
			if m := heyError.FindStringSubmatch(line); m != nil {
				n, _ := strconv.ParseInt(m[1], 10, 64)
				r.Errors[hostPort.ReplaceAllString(m[2], "ADDR")] += n
			}
		}
	}
	return r, nil
}
