package main

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// throughputTable prints one row per peer: requests/s, p50 and p99, each
// with its ratio to direct and to nginx (when those were measured).
func throughputTable(w io.Writer, rows []throughputRow) {
	var direct, nginx *wrkResult
	for i := range rows {
		switch rows[i].peer {
		case "direct":
			direct = &rows[i].res
		case "nginx":
			nginx = &rows[i].res
		}
	}
	fmt.Fprintln(w, "| proxy | req/s | ×direct | ×nginx | p50 | ×direct | ×nginx | p99 | ×direct | ×nginx |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rows {
		cells := []string{r.peer, fmt.Sprintf("%.0f", r.res.RPS)}
		cells = append(cells, ratios(r.res.RPS, direct, nginx, func(x wrkResult) float64 { return x.RPS })...)
		cells = append(cells, fmtDur(r.res.P50))
		cells = append(cells, ratios(float64(r.res.P50), direct, nginx, func(x wrkResult) float64 { return float64(x.P50) })...)
		cells = append(cells, fmtDur(r.res.P99))
		cells = append(cells, ratios(float64(r.res.P99), direct, nginx, func(x wrkResult) float64 { return float64(x.P99) })...)
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
}

// roundsLine lists each peer's requests/s per round, to show the spread
// behind the medians.
func roundsLine(w io.Writer, rows []throughputRow) {
	parts := make([]string, 0, len(rows))
	for _, r := range rows {
		rps := make([]string, len(r.rounds))
		for i, x := range r.rounds {
			rps[i] = fmt.Sprintf("%.0f", x.RPS)
		}
		parts = append(parts, r.peer+" "+strings.Join(rps, ", "))
	}
	fmt.Fprintf(w, "\nreq/s in each round: %s.\n", strings.Join(parts, "; "))
}

func ratios(v float64, direct, nginx *wrkResult, f func(wrkResult) float64) []string {
	out := make([]string, 0, 2)
	for _, ref := range []*wrkResult{direct, nginx} {
		if ref == nil || f(*ref) == 0 {
			out = append(out, "–")
			continue
		}
		out = append(out, fmt.Sprintf("%.2f", v/f(*ref)))
	}
	return out
}

// fmtDur prints a latency with 3 significant digits in µs or ms.
func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "–"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.0f ms", float64(d)/1e6)
}

// switchTable prints one row per peer: what each client saw across the
// switches.
func switchTable(w io.Writer, rows []switchRow) {
	fmt.Fprintln(w, "| proxy | switches | wrk requests | wrk non-2xx | wrk socket errors (connect/read/write/timeout) | hey requests | hey non-2xx | hey errors | slow requests cut or failed |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d (%d/%d/%d/%d) | %d | %d | %d | %d of %d |\n",
			r.peer, r.switches,
			r.wrk.Requests, r.wrk.Non2xx3xx, r.wrk.socketErrors(), r.wrk.Connect, r.wrk.Read, r.wrk.Write, r.wrk.Timeout,
			r.hey.requests(), r.hey.non2xx(), r.hey.errors(),
			r.slow.bad(), r.slow.Total)
	}
}

// heyDetails lists what hey saw go wrong, per peer, for the notes under
// the table.
func heyDetails(w io.Writer, rows []switchRow) {
	for _, r := range rows {
		var parts []string
		for _, code := range slices.Sorted(maps.Keys(r.hey.Status)) {
			if code < 200 || code > 299 {
				parts = append(parts, fmt.Sprintf("hey %d× status %d", r.hey.Status[code], code))
			}
		}
		msgs := slices.SortedFunc(maps.Keys(r.hey.Errors), func(a, b string) int {
			return cmp.Compare(r.hey.Errors[b], r.hey.Errors[a])
		})
		for _, msg := range msgs[:min(3, len(msgs))] {
			parts = append(parts, fmt.Sprintf("hey %d× `%s`", r.hey.Errors[msg], msg))
		}
		if r.slow.bad() > 0 {
			parts = append(parts, fmt.Sprintf("slow: %d cut, %d failed", r.slow.Cut, r.slow.Failed))
		}
		if len(parts) > 0 {
			fmt.Fprintf(w, "- %s: %s\n", r.peer, strings.Join(parts, "; "))
		}
	}
}
