package process

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

// userHz is the unit of /proc's CPU times (USER_HZ: 100 on every Linux
// architecture).
const userHz = 100

// cpuReading is an instance's CPU time at one Usage, for the next one's
// percentage.
type cpuReading struct {
	pid     int
	at      time.Time
	seconds float64
}

// Usage reads a running instance's CPU and memory from /proc, over every
// process of its session (its shell leads one), so that what the command
// started counts too; the leader's reaped children's CPU time as well.
// Memory is the resident set. CPU percent is since the previous Usage of
// the same process, else the average since it started.
func (r *Runtime) Usage(ctx context.Context, id string) (runtime.Usage, error) {
	var rec record
	if inst := r.instance(id); inst != nil {
		inst.mu.Lock()
		rec = inst.rec
		inst.mu.Unlock()
	} else {
		if !validID(id) {
			return runtime.Usage{}, fmt.Errorf("usage %q: %w", id, runtime.ErrNotFound)
		}
		var err error
		if rec, err = r.loadRecord(id); err != nil {
			return runtime.Usage{}, fmt.Errorf("usage %s: %w", id, err)
		}
	}
	if rec.Stopped || !r.alive(rec) {
		return runtime.Usage{}, nil
	}
	ticks, pages := sessionUse(rec.PID)
	now := time.Now()
	u := runtime.Usage{CPUSeconds: float64(ticks) / userHz, MemoryBytes: pages * int64(os.Getpagesize())}
	from := cpuReading{pid: rec.PID, at: rec.StartedAt}
	r.mu.Lock()
	if prev, ok := r.readings[id]; ok && prev.pid == rec.PID {
		from = prev
	}
	r.readings[id] = cpuReading{pid: rec.PID, at: now, seconds: u.CPUSeconds}
	r.mu.Unlock()
	if wall := now.Sub(from.at).Seconds(); wall > 0 && u.CPUSeconds >= from.seconds {
		u.CPUPercent = (u.CPUSeconds - from.seconds) / wall * 100
	}
	return u, nil
}

// sessionUse sums the CPU time (clock ticks: user and system, and the
// leader's reaped children's) and resident pages of the processes of
// session sid.
func sessionUse(sid int) (ticks, pages int64) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, 0
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		f, ok := statFields(b)
		if !ok || f[3] != strconv.Itoa(sid) {
			continue
		}
		n := atoi(f[11]) + atoi(f[12]) // utime, stime
		if pid == sid {
			n += atoi(f[13]) + atoi(f[14]) // cutime, cstime
		}
		ticks += n
		pages += atoi(f[21]) // rss
	}
	return ticks, pages
}

// statFields are the fields of a /proc/PID/stat line from field 3 on
// (f[0] is field 3, the state).
func statFields(b []byte) ([]string, bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, false
	}
	f := strings.Fields(string(b[i+1:]))
	return f, len(f) >= 22
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
