package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"sync"
	"time"
)

// switchRow is what the clients saw while traffic moved between versions
// behind one peer.
type switchRow struct {
	peer     string
	switches int
	wrk      wrkResult
	hey      heyResult
	slow     slowResult
}

// runSwitch measures one peer: backend v1 behind it, wrk, hey and the
// slow client running together, and every cfg.switchEvery a new backend
// (v2, then v1 again, ...) started, traffic moved to it the peer's way,
// and the old backend stopped at once.
func runSwitch(ctx context.Context, cfg config, ps *procs, work, name string) (switchRow, error) {
	row := switchRow{peer: name}
	dir, err := os.MkdirTemp(work, "switch-"+name+"-")
	if err != nil {
		return row, err
	}
	env := cfg.peerEnv(ps, dir)
	env.cpuprofile = "" // the profile is of the throughput run
	pe, err := newPeer(name, env)
	if err != nil {
		return row, err
	}
	defer pe.stop()
	live, err := startBackend(ctx, ps, cfg.self, "v1", cfg.backendCPUs)
	if err != nil {
		return row, err
	}
	defer func() { live.proc.stop(3 * time.Second) }()
	addr, err := pe.start(ctx, live.addr)
	if err != nil {
		return row, err
	}

	// The clients run for the warm-up, one interval per switch, and
	// one more interval after the last switch.
	total := cfg.warmup + time.Duration(cfg.switches)*cfg.switchEvery + cfg.switchEvery
	start := time.Now()
	clientCtx, stopClients := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopClients(); wg.Wait() }() // early returns end the clients
	var wrkErr, heyErr error
	wg.Go(func() {
		row.wrk, wrkErr = runWrk(clientCtx, ps, "wrk-switch-"+name, addr, wrkArgs{1, cfg.switchConns, total})
	})
	wg.Go(func() {
		row.hey, heyErr = runHey(clientCtx, ps, "hey-switch-"+name, addr, cfg.switchConns, total)
	})
	slowCtx, stopSlow := context.WithDeadline(clientCtx, start.Add(total-cfg.slow))
	defer stopSlow()
	wg.Go(func() { row.slow = runSlow(slowCtx, addr, cfg.slowWorkers, cfg.slow) })

	for i := range cfg.switches {
		at := start.Add(cfg.warmup + time.Duration(i)*cfg.switchEvery)
		select {
		case <-ctx.Done():
			return row, ctx.Err()
		case <-time.After(time.Until(at)):
		}
		next := fmt.Sprintf("v%d", 1+(i+1)%2)
		nb, err := startBackend(ctx, ps, cfg.self, next, cfg.backendCPUs)
		if err != nil {
			return row, err
		}
		t0 := time.Now()
		if err := pe.switchTo(ctx, live.addr, nb.addr); err != nil {
			nb.proc.stop(time.Second)
			return row, fmt.Errorf("switch %d: %w", i+1, err)
		}
		took := time.Since(t0)
		if cfg.grace > 0 {
			time.Sleep(cfg.grace)
		}
		live.proc.stop(3 * time.Second) // SIGTERM: the backend stops at once
		log.Printf("switch %s %d: %s → %s in %s, old backend stopped", name, i+1, live.name, nb.name, took.Round(time.Millisecond))
		live = nb
		row.switches++
	}
	wg.Wait()
	if wrkErr != nil {
		return row, wrkErr
	}
	return row, heyErr
}
