package spec

import (
	"fmt"
	"time"
)

// ApplyDefaults fills in every setting that nonstop.yaml leaves out.
// runtime defaults to docker when the source has a Dockerfile, else to
// process. The canary analysis gets defaults when a canary section is
// present, and a bluegreen section is added when the strategy is bluegreen.
//
// A setting is left out when it is zero and Parse did not find its key,
// so an explicit "max_unavailable: 0" stays 0, and an explicit
// "instances: 0" stays for Validate to report. In a Spec built in code
// every zero is left out, except max_surge, which is then defaulted only
// when max_unavailable is 0 too: 0 is a good value for either, not both.
func (s *Spec) ApplyDefaults(hasDockerfile bool) {
	runtime := RuntimeProcess
	if hasDockerfile {
		runtime = RuntimeDocker
	}
	setDefault(s, "runtime", &s.Runtime, runtime)
	setDefault(s, "instances", &s.Instances, 1)

	h := &s.Health
	setDefault(s, "health.path", &h.Path, "/")
	setDefault(s, "health.interval", &h.Interval, time.Second)
	setDefault(s, "health.timeout", &h.Timeout, 2*time.Second)
	setDefault(s, "health.start_timeout", &h.StartTimeout, 60*time.Second)
	setDefault(s, "health.healthy_threshold", &h.HealthyThreshold, 1)
	setDefault(s, "health.unhealthy_threshold", &h.UnhealthyThreshold, 2)

	d := &s.Deploy
	setDefault(s, "deploy.strategy", &d.Strategy, StrategyRolling)
	if s.lines != nil || d.MaxUnavailable == 0 {
		setDefault(s, "deploy.max_surge", &d.MaxSurge, 1)
	}
	setDefault(s, "deploy.drain_timeout", &d.DrainTimeout, 30*time.Second)
	setDefault(s, "deploy.stop_timeout", &d.StopTimeout, 10*time.Second)

	setDefault(s, "deploy.analysis.interval", &d.Analysis.Interval, 5*time.Second)
	setDefault(s, "deploy.analysis.min_requests", &d.Analysis.MinRequests, 50)
	setDefault(s, "deploy.analysis.max_error_rate", &d.Analysis.MaxErrorRate, 0.05)
	if c := d.Canary; c != nil {
		a := &c.Analysis
		setDefault(s, "deploy.canary.analysis.interval", &a.Interval, 5*time.Second)
		setDefault(s, "deploy.canary.analysis.min_requests", &a.MinRequests, 50)
		setDefault(s, "deploy.canary.analysis.max_error_rate", &a.MaxErrorRate, 0.05)
		setDefault(s, "deploy.canary.analysis.on_inconclusive", &a.OnInconclusive, InconclusiveWait)
	}
	k := &s.Kubernetes
	setDefault(s, "kubernetes.service.type", &k.Service.Type, ServiceClusterIP)
	setDefault(s, "kubernetes.min_ready", &k.MinReady, 5*time.Second)
	setDefault(s, "kubernetes.pre_stop", &k.PreStop, 5*time.Second)
	for i := range s.Volumes {
		setDefault(s, fmt.Sprintf("volumes[%d].size", i), &s.Volumes[i].Size, "1Gi")
	}

	if d.Strategy == StrategyBlueGreen && d.BlueGreen == nil {
		d.BlueGreen = &BlueGreen{}
	}
	if bg := d.BlueGreen; bg != nil {
		setDefault(s, "deploy.bluegreen.keep_old_for", &bg.KeepOldFor, 10*time.Minute)
	}
}

// setDefault sets *p to v when *p is zero and key was not in the file.
func setDefault[T comparable](s *Spec, key string, p *T, v T) {
	var zero T
	if _, set := s.lines[key]; *p == zero && !set {
		*p = v
	}
}

// WithStrategy returns the spec rolled out with another strategy (`nonstop
// deploy --strategy`): a canary without steps of its own goes 10 % then
// 50 %, 30 s each; a blue-green without settings waits for promote.
func (s *Spec) WithStrategy(st Strategy) (*Spec, error) {
	out := *s
	out.Deploy.Strategy = st
	switch st {
	case StrategyCanary:
		if out.Deploy.Canary == nil || len(out.Deploy.Canary.Steps) == 0 {
			out.Deploy.Canary = &Canary{
				Steps:    []CanaryStep{{Weight: 10, Pause: 30 * time.Second}, {Weight: 50, Pause: 30 * time.Second}},
				Analysis: Analysis{Interval: 5 * time.Second, MinRequests: 50, MaxErrorRate: 0.05},
			}
		}
	case StrategyBlueGreen:
		if out.Deploy.BlueGreen == nil {
			out.Deploy.BlueGreen = &BlueGreen{KeepOldFor: 10 * time.Minute}
		}
	case StrategyRolling:
	default:
		return nil, fmt.Errorf("--strategy %q: use rolling, bluegreen or canary", st)
	}
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return &out, nil
}
