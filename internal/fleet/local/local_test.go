package local

import (
	"errors"
	"strings"
	"testing"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
)

func TestFleet_RunsProcessesAndContainersAndNothingElse(t *testing.T) {
	f := New(Config{})
	for rt, want := range map[spec.Runtime]bool{spec.RuntimeProcess: true, spec.RuntimeDocker: true, spec.RuntimeKubernetes: false, "vm": false} {
		if got := f.Runs(&spec.Spec{Runtime: rt}); got != want {
			t.Errorf("Runs(%s) = %v, want %v", rt, got, want)
		}
	}
}

func TestFleet_ContainersNeedADockerEngine(t *testing.T) {
	app := &store.App{Name: "shop"}
	err := New(Config{}).Check(app, nil, &spec.Spec{Runtime: spec.RuntimeDocker})
	if !errors.Is(err, fleet.ErrUnsupported) || !strings.Contains(err.Error(), "no Docker Engine") {
		t.Errorf("docker without an Engine: %v", err)
	}
	if err := New(Config{}).Check(app, nil, &spec.Spec{Runtime: spec.RuntimeProcess}); err != nil {
		t.Errorf("a process: %v", err)
	}
}

func TestListenPort_AProcessListensOnTheFreePortItIsGivenNotOnePortSays(t *testing.T) {
	if got := listenPort(&spec.Spec{Runtime: spec.RuntimeProcess, Port: 7070}); got != 0 {
		t.Errorf("a process with port: 7070 is told %d, want 0 (a free port, in $PORT)", got)
	}
	if got := listenPort(&spec.Spec{Runtime: spec.RuntimeDocker, Port: 8080}); got != 8080 {
		t.Errorf("a container with port: 8080 is told %d, want 8080 (its own port, inside its namespace)", got)
	}
}
