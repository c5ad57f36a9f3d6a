package local

import (
	"testing"

	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/spec"
)

func TestInstanceLimits_ConvertsKubernetesQuantities(t *testing.T) {
	for _, c := range []struct {
		in   spec.Quantities
		want runtime.Limits
	}{
		{spec.Quantities{}, runtime.Limits{}},
		{spec.Quantities{CPU: "500m", Memory: "256Mi"}, runtime.Limits{NanoCPUs: 500_000_000, MemoryBytes: 268435456}},
		{spec.Quantities{CPU: "2"}, runtime.Limits{NanoCPUs: 2_000_000_000}},
		{spec.Quantities{CPU: "0.25"}, runtime.Limits{NanoCPUs: 250_000_000}},
		{spec.Quantities{CPU: "0.0001"}, runtime.Limits{NanoCPUs: 1_000_000}}, // rounds up to the millicore
		{spec.Quantities{Memory: "1Gi"}, runtime.Limits{MemoryBytes: 1 << 30}},
		{spec.Quantities{Memory: "1.5Gi"}, runtime.Limits{MemoryBytes: 3 << 29}},
		{spec.Quantities{Memory: "128M"}, runtime.Limits{MemoryBytes: 128_000_000}},
		{spec.Quantities{CPU: "0", Memory: "0"}, runtime.Limits{}}, // 0: no limit
	} {
		got, err := instanceLimits(c.in)
		if err != nil || got != c.want {
			t.Errorf("instanceLimits(%+v) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func TestInstanceLimits_ErrsInsteadOfPanicking(t *testing.T) {
	for _, in := range []spec.Quantities{
		{CPU: "half"},
		{Memory: "1Zi"},
		{CPU: "100E"},   // more nanocores than an int64 holds
		{Memory: "10E"}, // more bytes than an int64 holds
	} {
		if got, err := instanceLimits(in); err == nil {
			t.Errorf("instanceLimits(%+v) = %+v: want an error", in, got)
		}
	}
}
