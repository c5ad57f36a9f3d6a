package process

import (
	"testing"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

// Usage counts every process of an instance: here a child of its shell
// that holds 64 MiB and burnt half a second of CPU.
func TestUsage_CountsWhatTheInstanceStarted(t *testing.T) {
	rt := newRuntime(t, "", Options{})
	sp := testSpec(t, uniqueID("use"), `python3 -c '
import time
b = bytearray(64 << 20)
for i in range(0, len(b), 4096): b[i] = 1
t = time.process_time()
while time.process_time() - t < 0.5: pass
print("ready", flush=True)
time.sleep(60)
'; sleep 30`)
	start(t, rt, sp)
	waitLog(t, rt, sp.ID, "ready")
	u, err := rt.Usage(t.Context(), sp.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("usage: %.2fs of CPU, %.1f%% since start, %d MiB", u.CPUSeconds, u.CPUPercent, u.MemoryBytes>>20)
	if u.CPUSeconds < 0.45 || u.MemoryBytes < 64<<20 || u.MemoryBytes > 512<<20 || u.CPUPercent <= 0 {
		t.Errorf("usage %+v: want the child's 0.5s of CPU and 64 MiB counted", u)
	}
	again, err := rt.Usage(t.Context(), sp.ID)
	if err != nil || again.CPUPercent > 50 {
		t.Errorf("usage of an idle instance since the last reading: %+v %v, want little CPU", again, err)
	}
	if err := rt.Stop(t.Context(), sp.ID, 0); err != nil {
		t.Fatal(err)
	}
	if u, err := rt.Usage(t.Context(), sp.ID); err != nil || u != (runtime.Usage{}) {
		t.Errorf("usage of a stopped instance: %+v %v, want zero", u, err)
	}
}
