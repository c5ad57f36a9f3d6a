package local

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/nonstopdev/nonstop/internal/fleet"
	"github.com/nonstopdev/nonstop/internal/runtime"
)

// RunRelease runs the release phase of the goal's release, its spec's
// release: command, once, as its instances run (folder, account, env,
// volumes), each line of its output a line of the rollout's history.
func (f *Fleet) RunRelease(ctx context.Context, op fleet.Op, g *fleet.Goal) error {
	run, ok := f.Runtime.(runtime.Runner)
	if !ok {
		return fmt.Errorf("the %s runtime cannot run a release phase: %w", f.Runtime.Name(), fleet.ErrUnsupported)
	}
	sp := g.Release.Spec
	acct, err := f.accountOf(ctx, g)
	if err != nil {
		return err
	}
	var vols []runtime.Volume
	for _, v := range sp.Volumes {
		vols = append(vols, runtime.Volume{Name: v.Name, Path: v.Path})
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() { // the output's owner: it ends when the pipe closes
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			op.Event("log", "release phase: "+sc.Text(), nil)
		}
		io.Copy(io.Discard, pr)
	}()
	err = run.Run(ctx, runtime.InstanceSpec{
		User: acct, ID: fmt.Sprintf("%s-v%d-release", g.App.Name, g.Release.Version), App: g.App.Name, Release: g.Release.Version,
		Dir: g.Release.Dir, Command: sp.Release, Env: g.Release.Env, Image: g.Release.Image, Volumes: vols,
	}, pw)
	pw.Close()
	<-done
	return err
}
