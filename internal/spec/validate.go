package spec

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Validate reports every setting that nonstop cannot run with, each as an
// *Error naming its key (and its line, for a spec read by Parse), joined
// with errors.Join. Call it after ApplyDefaults.
func (s *Spec) Validate() error {
	v := &validator{s: s}
	v.app()
	v.health()
	v.deploy()
	if s.Deploy.Strategy == StrategyCanary {
		v.canary()
	}
	if bg := s.Deploy.BlueGreen; bg != nil {
		v.atLeastZero("deploy.bluegreen.auto_promote_after", int64(bg.AutoPromoteAfter), bg.AutoPromoteAfter)
		v.atLeastZero("deploy.bluegreen.keep_old_for", int64(bg.KeepOldFor), bg.KeepOldFor)
	}
	v.env()
	v.volumes()
	v.resources()
	v.kubernetes()
	return errors.Join(v.errs...)
}

type validator struct {
	s    *Spec
	errs []error
}

func (v *validator) fail(key, format string, args ...any) {
	e := &Error{Key: key, Msg: fmt.Sprintf(format, args...)}
	if v.s.lines != nil {
		e.File, e.Line = FileName, v.line(key)
	}
	v.errs = append(v.errs, e)
}

// line returns the line of key or, when the file left key out, of the
// nearest section that holds it ("deploy" for "deploy.canary.steps").
func (v *validator) line(key string) int {
	for {
		if line, ok := v.s.lines[key]; ok {
			return line
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			return 0
		}
		key = key[:i]
	}
}

// atLeastZero fails when n < 0; shown is n as the file wrote it.
func (v *validator) atLeastZero(key string, n int64, shown any) {
	if n < 0 {
		v.fail(key, "must be 0 or more, got %v", shown)
	}
}

func (v *validator) app() {
	s := v.s
	if s.Name != "" {
		if err := ValidName(s.Name); err != nil {
			v.fail("name", "%v", err)
		}
	}
	switch s.Runtime {
	case RuntimeProcess:
		switch {
		case strings.TrimSpace(s.Run) == "" && s.Static == "":
			v.fail("run", `required for the process runtime, and nothing in the source tells how to run it (no package.json, go.mod, requirements.txt, app.py, index.html...): add "run:" to nonstop.yaml, or a Procfile with a "web:" line`)
		case s.Run != "" && s.Static != "":
			v.fail("static", "a static site is served by nonstop: leave out run:, or static:")
		case s.Static != "" && !localPath(s.Static):
			v.fail("static", "%q: want a folder of the source, e.g. dist", s.Static)
		}
	case RuntimeDocker, RuntimeKubernetes:
		if s.Release != "" {
			v.fail("release", "the release phase runs on the process runtime only in this version: run it from the image's entrypoint before the server starts")
		}
	default:
		v.fail("runtime", "unknown runtime %q (use process, docker or kubernetes)", s.Runtime)
	}
	switch {
	case s.ReleaseHold < 0 || s.ReleaseHold > 10*time.Minute:
		v.fail("release_hold", "must be from 0 to 10m, got %s", s.ReleaseHold)
	case s.ReleaseHold > 0 && s.Release == "":
		v.fail("release_hold", "holds requests while the release phase runs: set release: (or a release: line in the Procfile) too")
	}
	if s.Port < 0 || s.Port > 65535 {
		v.fail("port", "must be from 0 to 65535, got %d", s.Port)
	}
	if s.Instances < 1 || s.Instances > 100 {
		v.fail("instances", "must be from 1 to 100, got %d", s.Instances)
	}
	for i, l := range s.BuildLabels {
		if !labelRE.MatchString(l) {
			v.fail(fmt.Sprintf("build_labels[%d]", i), "%q: want letters, digits, '-', '_' or '.', up to 63", l)
		}
	}
}

// localPath reports whether p is a relative path that stays in the source.
func localPath(p string) bool {
	return filepath.IsLocal(p) || p == "."
}

func (v *validator) health() {
	h := v.s.Health
	if !strings.HasPrefix(h.Path, "/") {
		v.fail("health.path", `must start with "/", got %q`, h.Path)
	}
	if h.Interval <= 0 {
		v.fail("health.interval", "must be more than 0, got %v", h.Interval)
	}
	if h.Timeout <= 0 {
		v.fail("health.timeout", "must be more than 0, got %v", h.Timeout)
	} else if h.Timeout > h.StartTimeout {
		// Name the key the file set, so that the line points at it.
		if _, set := v.s.lines["health.timeout"]; set || v.s.lines == nil {
			v.fail("health.timeout", "must not be longer than health.start_timeout (%v), got %v", h.StartTimeout, h.Timeout)
		} else {
			v.fail("health.start_timeout", "must not be shorter than health.timeout (%v), got %v", h.Timeout, h.StartTimeout)
		}
	}
	if h.HealthyThreshold < 1 {
		v.fail("health.healthy_threshold", "must be 1 or more, got %d", h.HealthyThreshold)
	}
	if h.UnhealthyThreshold < 1 {
		v.fail("health.unhealthy_threshold", "must be 1 or more, got %d", h.UnhealthyThreshold)
	}
}

func (v *validator) deploy() {
	d := v.s.Deploy
	v.analysis("deploy.analysis", d.Analysis)
	v.atLeastZero("deploy.bake", int64(d.Bake), d.Bake)
	switch d.Strategy {
	case StrategyRolling, StrategyBlueGreen, StrategyCanary:
	default:
		v.fail("deploy.strategy", "unknown strategy %q (use rolling, bluegreen or canary)", d.Strategy)
	}
	v.atLeastZero("deploy.max_surge", int64(d.MaxSurge), d.MaxSurge)
	v.atLeastZero("deploy.max_unavailable", int64(d.MaxUnavailable), d.MaxUnavailable)
	if d.MaxSurge == 0 && d.MaxUnavailable == 0 {
		v.fail("deploy.max_surge", "max_surge and max_unavailable cannot both be 0: a rollout could neither add a new instance nor remove an old one")
	}
	v.atLeastZero("deploy.drain_timeout", int64(d.DrainTimeout), d.DrainTimeout)
	v.atLeastZero("deploy.stop_timeout", int64(d.StopTimeout), d.StopTimeout)
}

func (v *validator) canary() {
	c := v.s.Deploy.Canary
	if c == nil || len(c.Steps) == 0 {
		v.fail("deploy.canary.steps", "at least one step is required when deploy.strategy is canary")
		return
	}
	prev := 0
	for i, st := range c.Steps {
		key := fmt.Sprintf("deploy.canary.steps[%d]", i)
		switch {
		case st.Weight < 1 || st.Weight > 100:
			v.fail(key+".weight", "must be from 1 to 100, got %d", st.Weight)
		case st.Weight <= prev:
			v.fail(key+".weight", "must be more than the previous step's weight (%d), got %d", prev, st.Weight)
		default:
			prev = st.Weight
		}
		v.atLeastZero(key+".pause", int64(st.Pause), st.Pause)
	}
	v.analysis("deploy.canary.analysis", c.Analysis)
}

// analysis checks an analysis's settings under key.
func (v *validator) analysis(key string, a Analysis) {
	if a.Interval <= 0 {
		v.fail(key+".interval", "must be more than 0, got %v", a.Interval)
	}
	v.atLeastZero(key+".min_requests", int64(a.MinRequests), a.MinRequests)
	if a.MaxErrorRate < 0 || a.MaxErrorRate > 1 {
		v.fail(key+".max_error_rate", "must be from 0 to 1 (0.05 is 5%%), got %v", a.MaxErrorRate)
	}
	v.atLeastZero(key+".max_p99_latency", int64(a.MaxP99Latency), a.MaxP99Latency)
	switch a.OnInconclusive {
	case "", InconclusiveWait, InconclusivePromote, InconclusiveRollback:
	default:
		v.fail(key+".on_inconclusive", "must be wait, promote or rollback, got %q", a.OnInconclusive)
	}
	if a.OnInconclusive != "" && key != "deploy.canary.analysis" {
		v.fail(key+".on_inconclusive", "applies to canary steps only (deploy.canary.analysis): between rolling batches the analysis never waits")
	}
}

func (v *validator) env() {
	for _, k := range sortedKeys(v.s.Env) {
		switch {
		case !validEnvName(k):
			v.fail("env."+k, "invalid variable name: use letters, digits and '_', not starting with a digit")
		case k == "PORT":
			v.fail("env."+k, "PORT is reserved: nonstop sets it to the port each instance must listen on")
		}
	}
}

// validEnvName reports whether k matches [A-Za-z_][A-Za-z0-9_]*.
func validEnvName(k string) bool {
	if k == "" || '0' <= k[0] && k[0] <= '9' {
		return false
	}
	for _, r := range k {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

var labelRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
