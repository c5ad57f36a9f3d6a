package server

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/nonstopdev/nonstop/internal/build/image"
	"github.com/nonstopdev/nonstop/internal/fleet/local"
	"github.com/nonstopdev/nonstop/internal/pipeline"
	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/runtime/docker"
)

// ContainerConfig says how nonstop reaches Docker Engine (or Podman's
// compatible API) and the registry that built images are pushed to.
type ContainerConfig struct {
	// DockerHost is the Engine's address; empty: $DOCKER_HOST or the default socket.
	DockerHost string
	// DockerNetwork, when set, is the network every app's containers join
	// (it must exist); empty: each app gets a network of its own.
	DockerNetwork string
	// Required fails the start when the Engine does not answer; otherwise
	// nonstop runs without the docker runtime and says so.
	Required bool
	// Registry is where built images are pushed (HOST[:PORT][/PREFIX]);
	// empty: images stay on this Engine.
	Registry image.Registry
	// DockerConfig is a Docker config file to read the registry's
	// credentials from when Registry has none ("": ~/.docker/config.json).
	DockerConfig string
}

// containers connects the docker runtime and the image builder, or returns
// nils when the Engine does not answer and it is not required.
func containers(ctx context.Context, cfg ContainerConfig, scope string, log *slog.Logger) (runtime.Runtime, *images, func(), error) {
	rt, err := docker.New(ctx, docker.Options{Host: cfg.DockerHost, Network: cfg.DockerNetwork, Logger: log, Scope: scope})
	if err != nil {
		if cfg.Required {
			return nil, nil, nil, err
		}
		log.Warn("the docker runtime is off", "err", err)
		return nil, nil, func() {}, nil
	}
	reg := cfg.Registry
	if reg.Host != "" && reg.Username == "" {
		fromConfig, err := image.RegistryFromDockerConfig(cfg.DockerConfig, reg.Host)
		if err != nil {
			rt.Close()
			return nil, nil, nil, fmt.Errorf("registry credentials: %w", err)
		}
		reg.Username, reg.Password = fromConfig.Username, fromConfig.Password
	}
	b, err := image.NewBuilder(ctx, cfg.DockerHost, reg)
	if err != nil {
		rt.Close()
		return nil, nil, nil, err
	}
	log.Info("docker runtime on", "engine", rt.Host(), "registry", reg.Host)
	return rt, &images{b}, func() { b.Close() }, nil
}

// images adapts the image builder to what the pipeline (builds, look-ups)
// and the local fleet (look-ups, pruning) ask of it.
type images struct{ b *image.Builder }

var (
	_ pipeline.ImageBuilder = (*images)(nil)
	_ local.Images          = (*images)(nil)
)

func (i *images) BuildImage(ctx context.Context, req pipeline.ImageBuild) (string, error) {
	img, err := i.b.Build(ctx, image.BuildRequest{App: req.App, Number: req.Number, Dir: req.Dir, GitSHA: req.GitSHA, Log: req.Log, Pushing: req.Pushing})
	if err != nil {
		return "", err
	}
	return img.Ref, nil
}

func (i *images) ResolveImage(ctx context.Context, ref string) (string, error) {
	img, err := i.b.Resolve(ctx, ref)
	if err != nil {
		return "", err
	}
	return img.Ref, nil
}

func (i *images) PruneImages(ctx context.Context, app string, keep []string) error {
	return i.b.Prune(ctx, app, keep)
}
