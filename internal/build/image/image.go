// Package image builds app images with the Docker Engine, pushes them to a
// registry, and pins them by digest.
//
// A build is tagged REPO:N (the build number) and REPO:SHA (the git commit,
// when known), where REPO is the registry's HOST[/PREFIX]/APP, or
// "nonstop/APP" when there is no registry. After a push the image is pinned
// as REPO@sha256:..., the manifest digest the registry stores: a release that
// records that reference runs the same bytes after its tag is overwritten.
// Images carry the label io.nonstop.app=APP so that Prune finds them again.
//
// The Engine's legacy builder is used (Docker 20.10 and Podman have it);
// BuildKit is not required.
package image

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/docker/client"
)

// Labels set on every image nonstop builds.
const (
	LabelApp    = "io.nonstop.app"
	LabelBuild  = "io.nonstop.build"
	LabelGitSHA = "io.nonstop.git-sha"
)

// ErrNotFound is returned (wrapped) when an image reference names nothing,
// locally or in its registry.
var ErrNotFound = errors.New("image not found")

// Image is a built or resolved image.
type Image struct {
	Repo   string   // e.g. "127.0.0.1:5055/hello" or "nonstop/hello"
	Tags   []string // the tags given, e.g. "7", "3f2c..."
	ID     string   // the local image ID, "sha256:..."
	Digest string   // the registry's manifest digest, "" when not pushed
	// Ref is what a runtime should run: REPO@DIGEST when the image is in a
	// registry, else the local image ID. Both are immutable.
	Ref string
}

// Builder builds, pushes, resolves and prunes images. Its methods are safe
// for concurrent use.
type Builder struct {
	Client *client.Client
	// Registry receives built images; an empty Host keeps them local.
	Registry Registry
}

// NewBuilder connects to the Docker Engine at dockerHost (e.g.
// "unix:///var/run/docker.sock"; empty: $DOCKER_HOST, else the default
// socket), negotiating the API version, and checks that it answers.
func NewBuilder(ctx context.Context, dockerHost string, reg Registry) (*Builder, error) {
	cli, err := NewClient(ctx, dockerHost)
	if err != nil {
		return nil, err
	}
	return &Builder{Client: cli, Registry: reg}, nil
}

// NewClient returns a client for the Docker Engine at dockerHost (empty:
// $DOCKER_HOST, else the default socket) that has answered a ping.
func NewClient(ctx context.Context, dockerHost string) (*client.Client, error) {
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if dockerHost != "" {
		opts = append(opts, client.WithHost(dockerHost))
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client for %q: %w", dockerHost, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(pctx); err != nil {
		host := cli.DaemonHost()
		cli.Close()
		return nil, fmt.Errorf("the Docker Engine at %s does not answer (start it, e.g. with scripts/docker.sh as root, or pass --docker-host): %w", host, err)
	}
	return cli, nil
}

// Close closes the Engine client.
func (b *Builder) Close() error { return b.Client.Close() }
