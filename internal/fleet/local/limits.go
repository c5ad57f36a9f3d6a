package local

import (
	"fmt"
	"math"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/spec"
)

// instanceLimits turns the spec's resources.limits (Kubernetes quantities:
// "500m" or "2" cores, "256Mi" or "1Gi" bytes) into the runtime's limits;
// an unset quantity is 0, no limit. CPU rounds up to the millicore and
// memory up to the byte, as Kubernetes does. The spec validated the
// quantities already; one that does not parse or is too large is an error.
func instanceLimits(q spec.Quantities) (runtime.Limits, error) {
	var lim runtime.Limits
	if q.CPU != "" {
		cpu, err := resource.ParseQuantity(q.CPU)
		if err != nil {
			return runtime.Limits{}, fmt.Errorf("resources.limits.cpu %q: %w", q.CPU, err)
		}
		if cpu.CmpInt64(math.MaxInt64/1_000_000_000) > 0 {
			return runtime.Limits{}, fmt.Errorf("resources.limits.cpu %q: too large", q.CPU)
		}
		lim.NanoCPUs = cpu.MilliValue() * 1e6
	}
	if q.Memory != "" {
		mem, err := resource.ParseQuantity(q.Memory)
		if err != nil {
			return runtime.Limits{}, fmt.Errorf("resources.limits.memory %q: %w", q.Memory, err)
		}
		if mem.CmpInt64(math.MaxInt64) > 0 {
			return runtime.Limits{}, fmt.Errorf("resources.limits.memory %q: too large", q.Memory)
		}
		lim.MemoryBytes = mem.Value()
	}
	return lim, nil
}
