package process

import (
	"fmt"

	"github.com/nonstopdev/nonstop/internal/cgroup"
	"github.com/nonstopdev/nonstop/internal/runtime"
)

// limitGroup returns the control group that caps spec's instance to its
// limits (created when missing), or nil when it has none. When the machine
// cannot cap processes (not root, no usable hierarchy) the instance runs
// uncapped, and its output and the runtime's log say why; a machine that
// can but fails to is an error.
func (r *Runtime) limitGroup(spec runtime.InstanceSpec) (*cgroup.Group, error) {
	lim := spec.Limits
	if lim.MemoryBytes <= 0 && lim.NanoCPUs <= 0 {
		return nil, nil
	}
	r.cgroupsOnce.Do(func() {
		r.cgroups, r.cgroupsErr = cgroup.Detect()
		if r.cgroupsErr == nil {
			r.log.Info("resources.limits are applied with cgroups", "version", r.cgroups.Version())
		}
	})
	if r.cgroupsErr != nil {
		why := "resources.limits not applied: " + r.cgroupsErr.Error()
		r.log.Warn(why, "id", spec.ID)
		r.appendOutput(spec.ID, why)
		return nil, nil
	}
	g, err := r.cgroups.Create(spec.ID, lim.MemoryBytes, lim.NanoCPUs)
	if err != nil {
		return nil, fmt.Errorf("apply resources.limits: %w", err)
	}
	return g, nil
}
