package docker

import (
	"context"
	"encoding/json"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/nonstopdev/nonstop/internal/runtime"
)

// cpuSample is a container's cumulative CPU time at one moment of one run.
type cpuSample struct {
	started time.Time // the run's start: CPU time counts from 0 at each (re)start
	at      time.Time
	total   uint64 // nanoseconds
}

// usage reads a running container's resource use with one stats sample: the
// memory in use (page cache that can be dropped excluded, as `docker stats`
// shows it) and the CPU used since the previous sample of this run (or since
// the run started, once it has run for sinceStartMin; before that, and when
// the Engine does not answer within statsTimeout, it is 0: unknown), in
// percent of one core.
func (r *Runtime) usage(ctx context.Context, containerID string, started time.Time) runtime.Usage {
	ctx, cancel := context.WithTimeout(ctx, statsTimeout)
	defer cancel()
	resp, err := r.cli.ContainerStatsOneShot(ctx, containerID)
	if err != nil {
		r.log.Debug("read resource use", "container", containerID, "err", err)
		return runtime.Usage{}
	}
	defer resp.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		r.log.Debug("read resource use", "container", containerID, "err", err)
		return runtime.Usage{}
	}
	u := runtime.Usage{MemoryBytes: memoryInUse(s.MemoryStats), CPUSeconds: float64(s.CPUStats.CPUUsage.TotalUsage) / 1e9}

	now := s.Read
	if now.IsZero() {
		now = time.Now()
	}
	cur := cpuSample{started: started, at: now, total: s.CPUStats.CPUUsage.TotalUsage}
	r.mu.Lock()
	prev, ok := r.samples[containerID]
	r.samples[containerID] = cur
	r.mu.Unlock()
	switch {
	case !s.PreRead.IsZero() && s.PreCPUStats.CPUUsage.TotalUsage > 0:
		// The Engine sent a previous sample (Podman does, and Docker
		// without one-shot): the last second or so.
		u.CPUPercent = percent(cpuSample{at: s.PreRead, total: s.PreCPUStats.CPUUsage.TotalUsage}, cur)
	case ok && prev.started.Equal(started):
		u.CPUPercent = percent(prev, cur)
	case !started.IsZero() && now.Sub(started) >= sinceStartMin:
		// The average since the run started, once its start-up (runc,
		// the runtime's own start) weighs little in it.
		u.CPUPercent = percent(cpuSample{at: started}, cur)
	}
	return u
}

// percent is the CPU used between two samples of one run, in percent of
// one core; 0 when they are not in order.
func percent(from, to cpuSample) float64 {
	wall := to.at.Sub(from.at)
	if wall <= 0 || to.total < from.total {
		return 0
	}
	return float64(to.total-from.total) / float64(wall.Nanoseconds()) * 100
}

// memoryInUse is usage minus inactive page cache (cgroup v1 reports it as
// total_inactive_file, v2 as inactive_file).
func memoryInUse(m container.MemoryStats) int64 {
	cache, ok := m.Stats["total_inactive_file"]
	if !ok {
		cache = m.Stats["inactive_file"]
	}
	if cache < m.Usage {
		return int64(m.Usage - cache)
	}
	return int64(m.Usage)
}

// forget drops what the Runtime remembers of a container that is stopped
// or removed.
func (r *Runtime) forget(containerID string) {
	r.mu.Lock()
	delete(r.samples, containerID)
	r.mu.Unlock()
}
