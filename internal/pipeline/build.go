package pipeline

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nonstopdev/nonstop/internal/build"
	"github.com/nonstopdev/nonstop/internal/detect"
	"github.com/nonstopdev/nonstop/internal/rollout"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/sysuser"
)

// stageBuild numbers the build and moves its source to DATA/apps/APP/builds/N/src.
func (p *Pipeline) stageBuild(ctx context.Context, src Source) (*store.Build, error) {
	n, err := p.Store.NextBuildNumber(ctx, src.App.ID)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(p.DataDir, "apps", src.App.Name, "builds", strconv.Itoa(n))
	os.RemoveAll(dir) // a leftover of a build whose record was never written
	// Folders the app's account may pass through but not list or change;
	// only its source is its own.
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, fmt.Errorf("stage build #%d: %w", n, err)
	}
	dst := filepath.Join(dir, "src")
	if err := os.Rename(src.Dir, dst); err != nil {
		return nil, fmt.Errorf("stage build #%d: %w", n, err)
	}
	acct, err := p.Accounts.For(ctx, src.App.Name)
	if err == nil && acct != nil {
		err = sysuser.Own(dst, acct)
	}
	if err != nil {
		return nil, fmt.Errorf("stage build #%d: %w", n, err)
	}
	return p.Store.CreateBuild(ctx, src.App.ID, n, src.Label, dst)
}

// build runs the spec's build command in the build's folder and, for the
// container runtimes, builds the image from the Dockerfile (here, or as a
// Job on the cluster). The output goes to build.log and to the rollout's
// events, line by line. It returns the image the release runs ("" for the
// process runtime).
func (p *Pipeline) build(ctx context.Context, j *job, env map[string]string) (string, error) {
	b, sp := j.build, j.src.Spec
	logFile, err := os.OpenFile(filepath.Join(filepath.Dir(b.Dir), "build.log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return "", fmt.Errorf("open build log: %w", err)
	}
	defer logFile.Close()
	lines := p.lineWriter(j.rollout)
	defer lines.Close()
	out := io.MultiWriter(logFile, lines)
	if d := j.src.Spec.Detected; d != nil {
		fmt.Fprintf(out, "build #%d: %s\n", b.Number, d)
		if err := detect.Missing(d.Needs); err != nil {
			return "", fmt.Errorf("%s: %w", d, err)
		}
	}
	switch {
	case sp.Build != "":
		fmt.Fprintf(out, "build #%d: %s\n", b.Number, sp.Build)
		acct, err := p.Accounts.For(ctx, j.src.App.Name)
		if err != nil {
			return "", err
		}
		if acct != nil {
			fmt.Fprintf(out, "build #%d runs as %s\n", b.Number, acct.Name)
		}
		benv := map[string]string{} // the server's build env, under the app's
		maps.Copy(benv, p.BuildEnv)
		maps.Copy(benv, env)
		err = build.CommandAs(ctx, acct, b.Dir, sp.Build, benv, out)
		// The account runs nothing but builds when the app's instances are
		// containers: what the build left, even out of its process group,
		// is stopped.
		if acct != nil && sp.Runtime != spec.RuntimeProcess {
			if killed, kerr := sysuser.Kill(context.WithoutCancel(ctx), acct.Name); kerr != nil {
				err = errors.Join(err, kerr)
			} else if killed {
				fmt.Fprintf(out, "build #%d: stopped the processes it left running as %s\n", b.Number, acct.Name)
			}
		}
		if err != nil {
			return "", err
		}
	case sp.Runtime == spec.RuntimeProcess:
		fmt.Fprintf(out, "build #%d: no build command; the source runs as it is\n", b.Number)
	}
	if sp.Runtime == spec.RuntimeProcess {
		return "", nil
	}
	if sp.Runtime == spec.RuntimeKubernetes && p.ClusterBuilds != nil {
		ref, err := p.clusterBuild(ctx, j, out)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(out, "image %s\n", ref)
		return ref, nil
	}
	if p.Images == nil {
		return "", fmt.Errorf("runtime %s: an image must be built from the Dockerfile, and this server has neither Docker Engine nor cluster builds (--kube-builds): %w", sp.Runtime, rollout.ErrUnsupported)
	}
	fmt.Fprintf(out, "build #%d: image from the Dockerfile\n", b.Number)
	ref, err := p.Images.BuildImage(ctx, ImageBuild{App: j.src.App.Name, Number: b.Number, Dir: b.Dir, GitSHA: j.src.Commit, Log: out,
		Pushing: func() { j.pushing(p) }})
	if err != nil {
		return "", err
	}
	fmt.Fprintf(out, "image %s\n", ref)
	return ref, nil
}

// event records a line of rollout r's history and logs it.
func (p *Pipeline) event(r *store.Rollout, kind, msg string) {
	// Recorded even while nonstop is stopping: the history must say so.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.Store.AddEvent(ctx, store.Event{AppID: r.AppID, RolloutID: r.ID, Kind: kind, Message: msg}); err != nil {
		p.Logger.Error("record event", "app", r.App, "rollout", r.ID, "err", err)
	}
	p.Logger.Info(msg, "app", r.App, "rollout", r.ID, "kind", kind)
}

// lineWriter turns what is written to it into "log" events of r, one per
// line; Close flushes the last line and waits for it.
func (p *Pipeline) lineWriter(r *store.Rollout) io.WriteCloser {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			p.event(r, "log", sc.Text())
		}
		io.Copy(io.Discard, pr)
	}()
	return &lineWriter{pw: pw, done: done}
}

type lineWriter struct {
	pw   *io.PipeWriter
	done chan struct{}
	once sync.Once
}

func (w *lineWriter) Write(p []byte) (int, error) { return w.pw.Write(p) }

func (w *lineWriter) Close() error {
	w.once.Do(func() {
		w.pw.Close()
		<-w.done
	})
	return nil
}
