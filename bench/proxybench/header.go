package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// printHeader says when, where and with what the run was made, and that
// the load generator, the proxy and the backend share the machine's cores.
func printHeader(w io.Writer, cfg config) {
	fmt.Fprintf(w, "## proxybench, %s\n\n", time.Now().Format("2006-01-02 15:04 MST"))
	if cmd := strings.TrimSpace(cfg.command); cmd != "" {
		fmt.Fprintf(w, "Command: `%s`\n\n", cmd)
	}
	fmt.Fprintf(w, "- machine: %d cores (%s), Linux %s, %s\n", runtime.NumCPU(), cpuModel(), firstLine(readFile("/proc/sys/kernel/osrelease")), runtime.Version())
	fmt.Fprintf(w, "- CPU contention: wrk (and hey), the proxy and the backend all run on these %d cores, nothing pinned; the proxies get %d workers/threads/GOMAXPROCS, the backend GOMAXPROCS=%s.\n",
		runtime.NumCPU(), cfg.proxyCPUs, backendProcs(cfg.backendCPUs))
	if load := strings.Fields(readFile("/proc/loadavg")); len(load) >= 3 {
		fmt.Fprintf(w, "- load average when the run started: %s %s %s (1, 5, 15 min; above ~0.5, other work on the machine makes the figures noisy)\n", load[0], load[1], load[2])
	}
	fmt.Fprintf(w, "- versions: nginx %s, haproxy %s, caddy %s, wrk %s, hey %s\n",
		version("nginx", "-v"), version("haproxy", "-v"), version("caddy", "version"), version("wrk", "-v"), debVersion("hey"))
	if cfg.nonstopRev != "" {
		fmt.Fprintf(w, "- nonstop: %s\n", cfg.nonstopRev)
	}
	fmt.Fprintf(w, "- per-request logs: nonstop writes its default access log (a JSON line per request), nonstop-nolog runs with `--access-log off`; nginx, haproxy, caddy and go-stdlib log none\n")
	if cfg.cpuprofile != "" {
		fmt.Fprintf(w, "- nonstop's proxy ran inside proxybench with a CPU profile (%s), not as `nonstop proxy`\n", cfg.cpuprofile)
	}
}

func backendProcs(n int) string {
	if n <= 0 {
		return fmt.Sprintf("%d (default)", runtime.NumCPU())
	}
	return fmt.Sprint(n)
}

// version runs a tool's version command and keeps the version number.
func version(argv ...string) string {
	out, _ := exec.Command(argv[0], argv[1:]...).CombinedOutput() // wrk -v exits 1
	for f := range strings.FieldsSeq(firstLine(string(out))) {
		f = strings.TrimPrefix(strings.TrimPrefix(f, "nginx/"), "debian/")
		if f != "" && f[0] >= '0' && f[0] <= '9' || strings.HasPrefix(f, "v2") {
			return f
		}
	}
	return "?"
}

func debVersion(pkg string) string {
	out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", pkg).Output()
	if err != nil {
		return "?"
	}
	return string(out) + " (Debian)"
}

func cpuModel() string {
	for line := range strings.Lines(readFile("/proc/cpuinfo")) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}
