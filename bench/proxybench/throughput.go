package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"slices"
	"time"
)

// throughputRow is one peer's measurement.
type throughputRow struct {
	peer   string
	res    wrkResult   // the medians
	rounds []wrkResult // each round's
}

// runThroughput puts one backend behind each peer in turn (only one peer
// runs at a time), warms it up, and measures it with wrk; with several
// rounds, the peers take turns and each figure is the median of its
// rounds.
func runThroughput(ctx context.Context, cfg config, ps *procs, work string) ([]throughputRow, error) {
	be, err := startBackend(ctx, ps, cfg.self, "app", cfg.backendCPUs)
	if err != nil {
		return nil, err
	}
	defer be.proc.stop(3 * time.Second)

	results := map[string][]wrkResult{}
	for round := range cfg.rounds {
		for _, name := range cfg.peers {
			res, err := measure(ctx, cfg, ps, work, name, be.addr)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			log.Printf("throughput round %d: %-8s %8.0f req/s  p50 %-9s p99 %-9s (socket errors %d, non-2xx %d)",
				round+1, name, res.RPS, fmtDur(res.P50), fmtDur(res.P99), res.socketErrors(), res.Non2xx3xx)
			results[name] = append(results[name], res)
		}
	}
	rows := make([]throughputRow, 0, len(cfg.peers))
	for _, name := range cfg.peers {
		rows = append(rows, throughputRow{peer: name, res: median(results[name]), rounds: results[name]})
	}
	return rows, nil
}

// measure starts one peer in front of backend, warms it up, measures it
// and stops it.
func measure(ctx context.Context, cfg config, ps *procs, work, name, backend string) (wrkResult, error) {
	dir, err := os.MkdirTemp(work, name+"-")
	if err != nil {
		return wrkResult{}, err
	}
	if !cfg.keep {
		defer os.RemoveAll(dir) // an access log can grow large
	}
	pe, err := newPeer(name, cfg.peerEnv(ps, dir))
	if err != nil {
		return wrkResult{}, err
	}
	defer pe.stop()
	addr, err := pe.start(ctx, backend)
	if err != nil {
		return wrkResult{}, err
	}
	if cfg.warmup > 0 {
		if _, err := runWrk(ctx, ps, "wrk-warmup-"+name, addr, wrkArgs{cfg.threads, cfg.conns, cfg.warmup}); err != nil {
			return wrkResult{}, err
		}
	}
	res, err := runWrk(ctx, ps, "wrk-"+name, addr, wrkArgs{cfg.threads, cfg.conns, cfg.duration})
	if err != nil {
		return wrkResult{}, err
	}
	if !res.HasLatency {
		return res, fmt.Errorf("wrk printed no latency distribution")
	}
	return res, nil
}

// median takes each figure's median over the runs separately.
func median(runs []wrkResult) wrkResult {
	if len(runs) == 1 {
		return runs[0]
	}
	mid := func(f func(wrkResult) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	out := runs[0]
	out.RPS = mid(func(r wrkResult) float64 { return r.RPS })
	out.P50 = time.Duration(mid(func(r wrkResult) float64 { return float64(r.P50) }))
	out.P99 = time.Duration(mid(func(r wrkResult) float64 { return float64(r.P99) }))
	out.Requests = int64(mid(func(r wrkResult) float64 { return float64(r.Requests) }))
	return out
}
