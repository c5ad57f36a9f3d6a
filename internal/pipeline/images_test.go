package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nonstopdev/nonstop/internal/pipeline"
	"github.com/nonstopdev/nonstop/internal/rollout"
	"github.com/nonstopdev/nonstop/internal/spec"
)

// An image this server cannot pin or run is refused before anything is
// recorded: without a Docker Engine a tag cannot be looked up, and a
// container app cannot run.
func TestSubmitImage_RefusesWhatThisServerCannotPinOrRun(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, pipeline.Config{})
	r.createApp("hello")
	for _, c := range []struct {
		runtime spec.Runtime
		ref     string
		want    error
		says    string
	}{
		{spec.RuntimeDocker, "nginx:1", rollout.ErrUnsupported, "no Docker Engine"},
		{spec.RuntimeKubernetes, "nginx:1", rollout.ErrInvalid, "pin it by digest"},
		{spec.RuntimeKubernetes, "nginx@sha256:" + strings.Repeat("0", 64), rollout.ErrUnsupported, "kubernetes"},
	} {
		sp := &spec.Spec{}
		sp.ApplyDefaults(true)
		sp.Runtime = c.runtime
		_, err := r.pl.SubmitImage(ctx, r.app("hello"), c.ref, sp, "tester")
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s image %s: %v; want %v saying %q", c.runtime, c.ref, err, c.want, c.says)
		}
	}
	if rs, _ := r.st.Rollouts(ctx, r.app("hello").ID, 10); len(rs) != 0 {
		t.Errorf("refused images recorded rollouts: %+v", rs)
	}
}
