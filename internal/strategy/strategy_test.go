package strategy_test

import (
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/strategy"
)

func canarySpec(weights ...int) *spec.Spec {
	sp := &spec.Spec{}
	sp.Deploy.Strategy = spec.StrategyCanary
	sp.Deploy.Canary = &spec.Canary{}
	for _, w := range weights {
		sp.Deploy.Canary.Steps = append(sp.Deploy.Canary.Steps, spec.CanaryStep{Weight: w, Pause: time.Minute})
	}
	return sp
}

func TestCanaryTrafficFollowsTheRecordedStep(t *testing.T) {
	sp := canarySpec(10, 50)
	s := strategy.For("canary")
	for _, c := range []struct {
		step   int
		want   strategy.Traffic
		splits bool
	}{
		{0, strategy.Traffic{}, false},
		{1, strategy.Traffic{Release: 7, Weight: 10}, true},
		{2, strategy.Traffic{Release: 7, Weight: 50}, true},
		{3, strategy.Traffic{Release: 7, Weight: 100}, true}, // past the last step: full
	} {
		got, ok := s.Traffic(sp, 7, c.step)
		if got != c.want || ok != c.splits {
			t.Errorf("step %d: got %+v %v, want %+v %v", c.step, got, ok, c.want, c.splits)
		}
	}
}

func TestBlueGreenPreviewsThenSwitches(t *testing.T) {
	s := strategy.For("bluegreen")
	if got, _ := s.Traffic(&spec.Spec{}, 3, 1); got != (strategy.Traffic{Release: 3, Weight: 0, Preview: true}) {
		t.Errorf("step 1: %+v, want the preview only", got)
	}
	if got, _ := s.Traffic(&spec.Spec{}, 3, 2); got != (strategy.Traffic{Release: 3, Weight: 100}) {
		t.Errorf("step 2: %+v, want every client", got)
	}
}

func TestRollingNeverSplits(t *testing.T) {
	s := strategy.For("rolling")
	if _, ok := s.Traffic(canarySpec(10), 2, 1); ok || strategy.Progressive(s) {
		t.Error("rolling must not split, nor be progressive")
	}
	if !strategy.Progressive(strategy.For("canary")) || !strategy.Progressive(strategy.For("bluegreen")) {
		t.Error("canary and blue-green are progressive")
	}
}

func TestMembersOfAWeight(t *testing.T) {
	for _, c := range []struct{ n, w, want int }{{4, 25, 1}, {4, 26, 2}, {3, 1, 1}, {3, 100, 3}, {10, 50, 5}} {
		if got := strategy.Members(c.n, c.w); got != c.want {
			t.Errorf("Members(%d, %d%%) = %d, want %d", c.n, c.w, got, c.want)
		}
	}
}

func TestThePlanOfSteps(t *testing.T) {
	c := canarySpec(10, 50)
	c.Deploy.Canary.Steps[1].Manual = true
	got := strategy.For("canary").Steps(c, 4)
	want := []strategy.Step{
		{Members: 1, Gate: strategy.GateAnalysis, Pause: time.Minute},
		{Members: 2, Gate: strategy.GateAnalysis, Pause: time.Minute, Manual: true},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("canary of 4: %+v, want %+v", got, want)
	}
	bg := &spec.Spec{}
	bg.Deploy.BlueGreen = &spec.BlueGreen{AutoPromoteAfter: time.Minute, KeepOldFor: time.Hour}
	s := strategy.For("bluegreen")
	if got := s.Steps(bg, 3); len(got) != 1 || got[0] != (strategy.Step{Members: 3, Gate: strategy.GatePromotion, AutoPromote: time.Minute}) {
		t.Errorf("blue-green of 3: %+v", got)
	}
	if s.KeepOld(bg) != time.Hour || strategy.For("canary").KeepOld(c) != 0 {
		t.Error("only blue-green keeps the old set warm")
	}
	if got := strategy.For("rolling").Steps(c, 3); len(got) != 0 {
		t.Errorf("rolling has steps: %+v", got)
	}
}

func TestJudged_OnlyStepsAnAnalysisEndsCanBePaused(t *testing.T) {
	blueGreen := &spec.Spec{Instances: 2}
	blueGreen.Deploy.Strategy = spec.StrategyBlueGreen
	rolling := &spec.Spec{Instances: 2}
	for _, c := range []struct {
		sp   *spec.Spec
		want bool
	}{{canarySpec(10, 50), true}, {blueGreen, false}, {rolling, false}} {
		if got := strategy.Judged(strategy.For(string(c.sp.Deploy.Strategy)), c.sp); got != c.want {
			t.Errorf("Judged(%q) = %v, want %v", c.sp.Deploy.Strategy, got, c.want)
		}
	}
}
