package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/build"
)

// BuildRequest is one image build of an app.
type BuildRequest struct {
	App    string // the app's name, a DNS label; the repository's last part
	Number int    // the build number, tagged as N
	Dir    string // the build context: the app's source folder
	GitSHA string // tagged too when set
	// Dockerfile is its path in Dir, slash-separated; empty: "Dockerfile".
	Dockerfile string
	Log        io.Writer // receives the build and push output as it comes; may be nil
	// Pushing, when set, is called once the image is built, before its push.
	Pushing func()
}

var tagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// Build builds req.Dir's Dockerfile on the Engine, tags the image REPO:N and
// REPO:SHA, and, when the Builder has a registry, pushes both tags and pins
// the image by the registry's digest. A failed build is a *BuildError that
// names the Dockerfile line whose instruction failed.
func (b *Builder) Build(ctx context.Context, req BuildRequest) (*Image, error) {
	log := req.Log
	if log == nil {
		log = io.Discard
	}
	repo := b.Registry.Repo(req.App)
	if _, err := reference.ParseNormalizedNamed(repo); err != nil {
		return nil, fmt.Errorf("image repository %q for app %q: %w", repo, req.App, err)
	}
	if req.Number <= 0 {
		return nil, fmt.Errorf("build number %d: must be positive", req.Number)
	}
	tags := []string{strconv.Itoa(req.Number)}
	if req.GitSHA != "" {
		if !tagRE.MatchString(req.GitSHA) {
			return nil, fmt.Errorf("git sha %q is not a valid image tag", req.GitSHA)
		}
		tags = append(tags, req.GitSHA)
	}
	dockerfile := req.Dockerfile
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	dockerfile = path.Clean(dockerfile)

	df, err := os.OpenInRoot(req.Dir, filepath.FromSlash(dockerfile)) // never a link out of the source
	if err != nil {
		return nil, fmt.Errorf("build image of %s: %w", req.App, err)
	}
	instrs, err := parseInstructions(df)
	df.Close()
	if err != nil {
		return nil, err
	}
	entries, size, err := listContext(req.Dir, dockerfile)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "Sending build context to Docker Engine: %s (%d entries)\n", humanSize(size), len(entries))

	labels := map[string]string{LabelApp: req.App, LabelBuild: tags[0]}
	if req.GitSHA != "" {
		labels[LabelGitSHA] = req.GitSHA
	}
	refs := make([]string, len(tags))
	for i, t := range tags {
		refs[i] = repo + ":" + t
	}
	if err := b.build(ctx, req.Dir, entries, build.ImageBuildOptions{
		Tags:        refs,
		Dockerfile:  dockerfile,
		Labels:      labels,
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
	}, instrs, log); err != nil {
		return nil, err
	}

	inspect, err := b.Client.ImageInspect(ctx, refs[0])
	if err != nil {
		return nil, fmt.Errorf("inspect built image %s: %w", refs[0], err)
	}
	img := &Image{Repo: repo, Tags: tags, ID: inspect.ID, Ref: inspect.ID}
	if b.Registry.Domain() == "" {
		return img, nil
	}
	if req.Pushing != nil {
		req.Pushing()
	}
	if img.Digest, err = b.push(ctx, repo, tags, log); err != nil {
		return nil, err
	}
	img.Ref = repo + "@" + img.Digest
	return img, nil
}

// build streams the context to the Engine and follows the build's output.
func (b *Builder) build(ctx context.Context, dir string, entries []contextEntry, opts build.ImageBuildOptions, instrs []instruction, log io.Writer) error {
	pr, pw := io.Pipe()
	sent := make(chan error, 1)
	go func() {
		err := writeContext(pw, entries)
		pw.CloseWithError(err)
		sent <- err
	}()
	err := b.followBuild(ctx, pr, opts, instrs, log)
	pr.CloseWithError(errBuildEnded) // unblocks the writer if the Engine stopped reading
	if sendErr := <-sent; sendErr != nil && err != nil && !errors.Is(sendErr, errBuildEnded) {
		return fmt.Errorf("send build context %s: %w", dir, sendErr) // the cause of the build's failure
	}
	return err
}

var errBuildEnded = errors.New("the build ended before its context was sent")

func (b *Builder) followBuild(ctx context.Context, buildContext io.Reader, opts build.ImageBuildOptions, instrs []instruction, log io.Writer) error {
	resp, err := b.Client.ImageBuild(ctx, buildContext, opts)
	if err != nil {
		if m := parseErrorRE.FindStringSubmatch(err.Error()); m != nil {
			return parseFailure(opts.Dockerfile, instrs, m[1], m[2])
		}
		return fmt.Errorf("build image %s: %w", opts.Tags[0], err)
	}
	defer resp.Body.Close()
	var steps stepTracker
	err = decodeStream(resp.Body, func(m *message) error {
		if m.Stream != "" {
			steps.write(m.Stream)
			_, _ = io.WriteString(log, m.Stream)
		}
		return nil
	})
	var se *streamError
	switch {
	case errors.As(err, &se):
		return steps.failure(opts.Dockerfile, instrs, len(opts.Labels), se.msg)
	case err != nil:
		return fmt.Errorf("build image %s: %w", opts.Tags[0], err)
	}
	return nil
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fkB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%dB", n)
	}
}
