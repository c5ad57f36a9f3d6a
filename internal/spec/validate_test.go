package spec

import (
	"strings"
	"testing"
)

// validated parses yaml, applies the defaults and validates.
func validated(t *testing.T, yaml string) error {
	t.Helper()
	return defaulted(t, yaml, false).Validate()
}

func TestValidate_NamesKeyAndLine(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"name", "name: Hello\nrun: ./app\n",
			`nonstop.yaml:1: name: invalid name "Hello": 'H' is not allowed (an app name is a DNS label: 1 to 63 lowercase letters, digits and '-')`},
		{"runtime", "run: ./app\nruntime: dokker\n",
			`nonstop.yaml:2: runtime: unknown runtime "dokker" (use process, docker or kubernetes)`},
		{"process needs run", "name: hello\n",
			`nonstop.yaml: run: required for the process runtime, and nothing in the source tells how to run it (no package.json, go.mod, requirements.txt, app.py, index.html...): add "run:" to nonstop.yaml, or a Procfile with a "web:" line`},
		{"port", "run: ./app\nport: 70000\n",
			"nonstop.yaml:2: port: must be from 0 to 65535, got 70000"},
		{"instances zero", "run: ./app\ninstances: 0\n",
			"nonstop.yaml:2: instances: must be from 1 to 100, got 0"},
		{"instances too many", "run: ./app\ninstances: 101\n",
			"nonstop.yaml:2: instances: must be from 1 to 100, got 101"},
		{"health path", "run: ./app\nhealth:\n  path: healthz\n",
			`nonstop.yaml:3: health.path: must start with "/", got "healthz"`},
		{"interval zero", "run: ./app\nhealth:\n  interval: 0s\n",
			"nonstop.yaml:3: health.interval: must be more than 0, got 0s"},
		{"timeout over start timeout", "run: ./app\nhealth:\n  timeout: 90s\n",
			"nonstop.yaml:3: health.timeout: must not be longer than health.start_timeout (1m0s), got 1m30s"},
		{"start timeout under timeout", "run: ./app\nhealth:\n  start_timeout: 1s\n",
			"nonstop.yaml:3: health.start_timeout: must not be shorter than health.timeout (2s), got 1s"},
		{"threshold", "run: ./app\nhealth:\n  unhealthy_threshold: 0\n",
			"nonstop.yaml:3: health.unhealthy_threshold: must be 1 or more, got 0"},
		{"on_inconclusive", "run: ./app\ndeploy:\n  strategy: canary\n  canary:\n    steps:\n      - weight: 10\n        pause: 1s\n    analysis:\n      on_inconclusive: maybe\n",
			`nonstop.yaml:9: deploy.canary.analysis.on_inconclusive: must be wait, promote or rollback, got "maybe"`},
		{"on_inconclusive between batches", "run: ./app\ndeploy:\n  analysis:\n    on_inconclusive: wait\n",
			"nonstop.yaml:4: deploy.analysis.on_inconclusive: applies to canary steps only (deploy.canary.analysis): between rolling batches the analysis never waits"},
		{"strategy", "run: ./app\ndeploy:\n  strategy: yolo\n",
			`nonstop.yaml:3: deploy.strategy: unknown strategy "yolo" (use rolling, bluegreen or canary)`},
		{"negative surge", "run: ./app\ndeploy:\n  max_surge: -1\n  max_unavailable: 1\n",
			"nonstop.yaml:3: deploy.max_surge: must be 0 or more, got -1"},
		{"surge and unavailable both zero", "run: ./app\ndeploy:\n  max_unavailable: 0\n  max_surge: 0\n",
			"nonstop.yaml:4: deploy.max_surge: max_surge and max_unavailable cannot both be 0: a rollout could neither add a new instance nor remove an old one"},
		{"negative drain", "run: ./app\ndeploy:\n  drain_timeout: -1s\n",
			"nonstop.yaml:3: deploy.drain_timeout: must be 0 or more, got -1s"},
		{"canary without steps", "run: ./app\ndeploy:\n  strategy: canary\n",
			"nonstop.yaml:2: deploy.canary.steps: at least one step is required when deploy.strategy is canary"},
		{"canary weight over 100", "run: ./app\ndeploy:\n  strategy: canary\n  canary:\n    steps:\n      - weight: 150\n",
			"nonstop.yaml:6: deploy.canary.steps[0].weight: must be from 1 to 100, got 150"},
		{"canary weight out of range does not shift the next check", "run: ./app\ndeploy:\n  strategy: canary\n  canary:\n    steps:\n      - weight: 10\n      - weight: 0\n      - weight: 20\n",
			"nonstop.yaml:7: deploy.canary.steps[1].weight: must be from 1 to 100, got 0"},
		{"canary weights not increasing", "run: ./app\ndeploy:\n  strategy: canary\n  canary:\n    steps:\n      - weight: 50\n      - weight: 20\n",
			"nonstop.yaml:7: deploy.canary.steps[1].weight: must be more than the previous step's weight (50), got 20"},
		{"canary error rate", "run: ./app\ndeploy:\n  strategy: canary\n  canary:\n    steps: [{weight: 10}]\n    analysis:\n      max_error_rate: 5\n",
			"nonstop.yaml:7: deploy.canary.analysis.max_error_rate: must be from 0 to 1 (0.05 is 5%), got 5"},
		{"env name", "run: ./app\nenv:\n  MY-VAR: x\n",
			"nonstop.yaml:3: env.MY-VAR: invalid variable name: use letters, digits and '_', not starting with a digit"},
		{"env PORT", "run: ./app\nenv:\n  PORT: 9000\n",
			"nonstop.yaml:3: env.PORT: PORT is reserved: nonstop sets it to the port each instance must listen on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validated(t, tt.yaml)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Validate(%q):\n got %v\nwant %s", tt.yaml, err, tt.want)
			}
		})
	}
}

func TestValidate_AcceptsGoodSpecs(t *testing.T) {
	for _, yaml := range []string{
		"run: ./app\n",
		"runtime: docker\n",
		"runtime: kubernetes\nport: 8080\ninstances: 100\n",
		"run: ./app\ndeploy:\n  max_surge: 0\n  max_unavailable: 1\n",
		"run: ./app\ndeploy:\n  strategy: canary\n  canary:\n    steps:\n      - weight: 1\n        pause: manual\n      - weight: 100\n",
		"run: ./app\ndeploy:\n  strategy: bluegreen\n  bluegreen:\n    auto_promote_after: 30s\n",
		"run: ./app\nenv:\n  _X1: a\n  lower_case: b\n",
		// Canary steps are only checked when the strategy is canary.
		"run: ./app\ndeploy:\n  canary:\n    steps: []\n",
	} {
		if err := validated(t, yaml); err != nil {
			t.Errorf("Validate(%q): %v", yaml, err)
		}
	}
}

func TestValidate_ReportsEveryError(t *testing.T) {
	err := validated(t, "instances: 0\nhealth:\n  path: x\nenv:\n  PORT: 1\n")
	if err == nil {
		t.Fatal("Validate: no error")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{"nonstop.yaml: run:", "nonstop.yaml:1: instances:", "nonstop.yaml:3: health.path:", "nonstop.yaml:5: env.PORT:"}
	if len(lines) != len(want) {
		t.Fatalf("Validate: %d errors, want %d:\n%v", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("error %d = %q, want it to start with %q", i, lines[i], w)
		}
	}
}

func TestValidate_SpecBuiltInCodeNamesKeyWithoutFile(t *testing.T) {
	s := &Spec{Run: "./app"}
	s.ApplyDefaults(false)
	s.Deploy.MaxUnavailable = -1
	err := s.Validate()
	if want := "deploy.max_unavailable: must be 0 or more, got -1"; err == nil || err.Error() != want {
		t.Errorf("Validate = %v, want %s", err, want)
	}
}
