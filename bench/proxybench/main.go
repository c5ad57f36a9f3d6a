// Command proxybench compares nonstop's proxy with the proxies users would
// otherwise put in front of their apps (nginx, haproxy, caddy) and with no
// proxy at all, on one machine, in one run, over loopback:
//
//   - throughput: the same small backend behind each, driven by wrk;
//     requests/s, p50 and p99 and their ratios to direct and to nginx;
//   - switch: traffic moved between two backend versions several times
//     under load (wrk, hey and slow requests), each proxy its own way, the
//     old backend stopped after each switch; what the clients lost.
//
// It starts every process it needs, bounds every run in time, and stops
// them all when it ends, fails or is interrupted. bench/run.sh installs
// the peers from Debian's packages, builds nonstop and runs it.
//
//	proxybench [flags] [throughput|switch|all]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// config is the run's settings, from the flags.
type config struct {
	what                string // throughput, switch or all
	peers, switchPeers  []string
	self, nonstopBin    string
	baseBin             string
	duration, warmup    time.Duration
	conns, threads      int
	rounds              int
	proxyCPUs           int
	backendCPUs         int
	switches            int
	switchEvery         time.Duration
	switchConns         int
	slowWorkers         int
	slow, drainTimeout  time.Duration
	grace               time.Duration
	cpuprofile, command string
	nonstopRev          string
	keep                bool
	timeout             time.Duration
}

func (c config) peerEnv(ps *procs, dir string) peerEnv {
	return peerEnv{ps: ps, dir: dir, cpus: c.proxyCPUs, self: c.self, nonstopBin: c.nonstopBin, baseBin: c.baseBin,
		drainTimeout: c.drainTimeout, cpuprofile: c.cpuprofile}
}

func main() {
	// The harness runs its own helper processes from its own binary.
	helpers := map[string]func([]string) error{
		"backend":       runBackend,       // the app behind the proxies
		"go-proxy":      runGoProxy,       // net/http's ReverseProxy, for reference
		"nonstop-proxy": runProfiledProxy, // nonstop's proxy with a CPU profile
	}
	if len(os.Args) > 1 {
		if helper, ok := helpers[os.Args[1]]; ok {
			if err := helper(os.Args[2:]); err != nil {
				log.Fatal(err)
			}
			return
		}
	}
	os.Exit(run())
}

func parseFlags() (config, error) {
	var c config
	var peers, switchPeers string
	flag.StringVar(&peers, "peers", strings.Join(peerNames, ","), "throughput: peers to measure, in order")
	flag.StringVar(&switchPeers, "switch-peers", "nonstop,nginx,haproxy", "switch: peers to measure")
	flag.StringVar(&c.nonstopBin, "nonstop", "", "the nonstop binary (go build -o X ./cmd/nonstop)")
	flag.StringVar(&c.baseBin, "nonstop-base", "", "an earlier nonstop binary, measured beside -nonstop as peer nonstop-base (added to the peers when given)")
	flag.DurationVar(&c.duration, "d", 10*time.Second, "throughput: wrk duration per peer")
	flag.DurationVar(&c.warmup, "warmup", 2*time.Second, "wrk warm-up before each measurement, and load before the first switch")
	flag.IntVar(&c.conns, "c", 64, "throughput: wrk connections")
	flag.IntVar(&c.threads, "t", 2, "throughput: wrk threads")
	flag.IntVar(&c.rounds, "rounds", 3, "throughput: rounds (peers take turns; medians are reported)")
	flag.IntVar(&c.proxyCPUs, "proxy-cpus", runtime.NumCPU(), "proxies' workers (nginx), threads (haproxy), GOMAXPROCS (nonstop, caddy)")
	flag.IntVar(&c.backendCPUs, "backend-cpus", 0, "backend's GOMAXPROCS (0: Go's default)")
	flag.IntVar(&c.switches, "switches", 5, "switch: version switches per peer")
	flag.DurationVar(&c.switchEvery, "switch-every", 3*time.Second, "switch: time between switches")
	flag.IntVar(&c.switchConns, "switch-c", 16, "switch: connections of wrk and of hey each")
	flag.IntVar(&c.slowWorkers, "slow-workers", 4, "switch: slow requests kept in flight")
	flag.DurationVar(&c.slow, "slow", time.Second, "switch: how long a slow request takes at the backend")
	flag.DurationVar(&c.drainTimeout, "drain-timeout", 10*time.Second, "switch: nonstop's drain timeout")
	flag.DurationVar(&c.grace, "switch-grace", 0, "switch: wait after a switch before stopping the old backend")
	flag.StringVar(&c.cpuprofile, "cpuprofile", "", "run nonstop's proxy inside this binary (the same daemon as 'nonstop proxy') and write a CPU profile to `file`")
	flag.StringVar(&c.nonstopRev, "nonstop-rev", "", "the nonstop revision measured, for the header")
	flag.StringVar(&c.command, "command", "", "the command to print as the one that reproduces the run")
	flag.BoolVar(&c.keep, "keep", false, "keep the work folder (configs and logs)")
	flag.DurationVar(&c.timeout, "timeout", 15*time.Minute, "stop everything after this long")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: proxybench [flags] [throughput|switch|all]\n\nflags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	c.what = "all"
	if flag.NArg() > 0 {
		c.what = flag.Arg(0)
	}
	if c.what != "all" && c.what != "throughput" && c.what != "switch" {
		return c, fmt.Errorf("unknown benchmark %q: throughput, switch or all", c.what)
	}
	c.peers = splitList(peers)
	c.switchPeers = splitList(switchPeers)
	if c.baseBin != "" {
		c.peers = withBase(c.peers)
		c.switchPeers = withBase(c.switchPeers)
	}
	for _, p := range c.peers {
		if !slices.Contains(peerNames, p) {
			return c, fmt.Errorf("-peers: unknown peer %q (known: %s)", p, strings.Join(peerNames, ", "))
		}
	}
	for _, p := range c.switchPeers {
		if !slices.Contains(switchPeerNames, p) {
			return c, fmt.Errorf("-switch-peers: %q cannot be switched (these can: %s)", p, strings.Join(switchPeerNames, ", "))
		}
	}
	if c.rounds < 1 || c.conns < 1 || c.threads < 1 || c.switchConns < 1 || c.slowWorkers < 1 || c.proxyCPUs < 1 {
		return c, errors.New("-rounds, -c, -t, -switch-c, -slow-workers and -proxy-cpus must be at least 1")
	}
	if c.switchEvery < c.slow+time.Second {
		return c, errors.New("-switch-every must leave a slow request and a second between switches")
	}
	var err error
	c.self, err = selfPath()
	return c, err
}

// withBase puts nonstop-base right after nonstop in peers, once.
func withBase(peers []string) []string {
	if slices.Contains(peers, "nonstop-base") {
		return peers
	}
	if i := slices.Index(peers, "nonstop"); i >= 0 {
		return slices.Insert(peers, i+1, "nonstop-base")
	}
	return append(peers, "nonstop-base")
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func run() int {
	log.SetFlags(log.Ltime)
	log.SetPrefix("proxybench: ")
	cfg, err := parseFlags()
	if err != nil {
		log.Print(err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()

	work, err := os.MkdirTemp("", "proxybench-")
	if err != nil {
		log.Print(err)
		return 1
	}
	if cfg.keep {
		log.Printf("work folder (kept): %s", work)
	} else {
		defer os.RemoveAll(work)
	}
	ps := newProcs(work)
	defer ps.stopAll()

	if err := bench(ctx, cfg, ps, work); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", err, context.Cause(ctx))
		}
		log.Print(err)
		return 1
	}
	return 0
}

func bench(ctx context.Context, cfg config, ps *procs, work string) error {
	printHeader(os.Stdout, cfg)
	if cfg.what != "switch" {
		rows, err := runThroughput(ctx, cfg, ps, work)
		if err != nil {
			return err
		}
		fmt.Printf("\n### Proxy throughput\n\n")
		fmt.Printf("wrk -t%d -c%d -d%s --latency after a %s warm-up, %d round(s); ratios are to direct and to nginx (above 1 is more requests/s, or a higher latency).\n\n",
			cfg.threads, cfg.conns, cfg.duration, cfg.warmup, cfg.rounds)
		throughputTable(os.Stdout, rows)
		roundsLine(os.Stdout, rows)
	}
	if cfg.what != "throughput" {
		var rows []switchRow
		for _, name := range cfg.switchPeers {
			row, err := runSwitch(ctx, cfg, ps, work, name)
			if err != nil {
				return fmt.Errorf("switch %s: %w", name, err)
			}
			rows = append(rows, row)
		}
		fmt.Printf("\n### Switching versions under load\n\n")
		fmt.Printf("%d switches v1→v2→v1…, one every %s after a %s warm-up; clients together: wrk -t1 -c%d, hey -c%d, %d slow POSTs (%s at the backend) in flight; the old backend is stopped (SIGTERM, it exits at once) right after each switch (+%s).\n\n",
			cfg.switches, cfg.switchEvery, cfg.warmup, cfg.switchConns, cfg.switchConns, cfg.slowWorkers, cfg.slow, cfg.grace)
		switchTable(os.Stdout, rows)
		fmt.Println()
		heyDetails(os.Stdout, rows)
	}
	return nil
}
