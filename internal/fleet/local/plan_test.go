package local

import (
	"fmt"
	"testing"

	"github.com/nonstopdev/nonstop/internal/store"
)

// simulate runs the plan to completion, acting on a fake instance list, and
// returns the actions taken and the fewest instances serving at any time.
func simulate(t *testing.T, target, n, surge, unavail int, active []*store.Instance) (trace []string, minServing, maxTotal int) {
	t.Helper()
	minServing, maxTotal = len(active), len(active)
	next := 0
	for i := 0; i < 100; i++ {
		step := planRolling(target, n, surge, unavail, active)
		switch step.Action {
		case ActDone:
			return trace, minServing, maxTotal
		case ActStart:
			for k := 0; k < step.Count; k++ {
				next++
				active = append(active, &store.Instance{ID: fmt.Sprintf("new%d", next), Release: target, State: store.InstanceServing})
			}
			trace = append(trace, fmt.Sprintf("start %d", step.Count))
		case ActRetire:
			var keep []*store.Instance
			for _, in := range active {
				if in != step.Instance {
					keep = append(keep, in)
				}
			}
			active = keep
			trace = append(trace, "retire "+step.Instance.ID)
		}
		maxTotal = max(maxTotal, len(active))
		minServing = min(minServing, len(active))
	}
	t.Fatalf("plan did not converge: %v", trace)
	return nil, 0, 0
}

func serving(release int, ids ...string) []*store.Instance {
	var out []*store.Instance
	for _, id := range ids {
		out = append(out, &store.Instance{ID: id, Release: release, State: store.InstanceServing})
	}
	return out
}

func TestPlanRolling_SurgeOneNeverDropsBelowWanted(t *testing.T) {
	trace, minServing, maxTotal := simulate(t, 2, 2, 1, 0, serving(1, "old1", "old2"))
	want := "[start 1 retire old1 start 1 retire old2]"
	if fmt.Sprint(trace) != want {
		t.Errorf("trace %v, want %s", trace, want)
	}
	if minServing < 2 || maxTotal > 3 {
		t.Errorf("serving went to %d, total to %d; want >= 2 and <= 3", minServing, maxTotal)
	}
}

func TestPlanRolling_UnavailableOneRetiresFirst(t *testing.T) {
	trace, minServing, maxTotal := simulate(t, 2, 3, 0, 1, serving(1, "a", "b", "c"))
	if trace[0] != "retire a" || minServing < 2 || maxTotal > 3 {
		t.Errorf("trace %v min %d max %d", trace, minServing, maxTotal)
	}
}

func TestPlanRolling_LargeSurgeStartsAllAtOnce(t *testing.T) {
	trace, _, _ := simulate(t, 2, 3, 3, 0, serving(1, "a", "b", "c"))
	if trace[0] != "start 3" {
		t.Errorf("trace %v", trace)
	}
}

func TestPlanRolling_FirstDeployStartsAllAtOnce(t *testing.T) {
	trace, _, _ := simulate(t, 1, 4, 2, 0, nil)
	if fmt.Sprint(trace) != "[start 4]" {
		t.Errorf("trace %v", trace)
	}
}

func TestPlanRolling_ScaleDownRetiresNewest(t *testing.T) {
	step := planRolling(1, 1, 1, 0, serving(1, "a", "b"))
	if step.Action != ActRetire || step.Instance.ID != "b" {
		t.Errorf("got %+v", step)
	}
}

func TestPlanRolling_RetiresToNothingWhenTargetIsZero(t *testing.T) {
	trace, _, _ := simulate(t, 0, 0, 1, 0, serving(3, "a", "b"))
	if fmt.Sprint(trace) != "[retire a retire b]" {
		t.Errorf("trace %v", trace)
	}
}

func TestPlanRolling_FinishesWhatACrashInterrupted(t *testing.T) {
	active := serving(2, "new1")
	active = append(active, &store.Instance{ID: "old1", Release: 1, State: store.InstanceDraining})
	if step := planRolling(2, 1, 1, 0, active); step.Action != ActRetire || step.Instance.ID != "old1" {
		t.Errorf("draining instance not retired first: %+v", step)
	}
	active = append(serving(2, "new1"), &store.Instance{ID: "new2", Release: 2, State: store.InstanceStarting})
	if step := planRolling(2, 2, 1, 0, active); step.Action != ActRetire || step.Instance.ID != "new2" {
		t.Errorf("starting instance left from a crash not discarded: %+v", step)
	}
}
