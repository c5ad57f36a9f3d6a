package image

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/image"
)

var (
	imageIDRE    = regexp.MustCompile(`^(sha256:)?[0-9a-f]{12,64}$`)
	pullDigestRE = regexp.MustCompile(`^Digest: (sha256:[0-9a-f]{64})$`)
)

// Resolve makes ref available on the Engine and pins it: for `nonstop deploy
// --image REF`, and to check a release's image before it is started again.
//
//   - A local image ID ("sha256:...") is looked up on the Engine only.
//   - REPO@sha256:... is used as is when the Engine has it, else pulled.
//   - REPO:TAG is pulled (with the Builder's credentials when REPO is in its
//     registry), so the tag's current image is used; an image that exists
//     only on the Engine (built here, never pushed nor pulled) is used as is.
//
// The returned Ref is REPO@DIGEST, the manifest the registry served, or the
// local image ID for a local-only image. A ref that names nothing is an
// error wrapping ErrNotFound.
func (b *Builder) Resolve(ctx context.Context, ref string) (*Image, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, fmt.Errorf("resolve image: empty reference")
	}
	if imageIDRE.MatchString(ref) {
		inspect, err := b.inspect(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("resolve image %s: %w", ref, err)
		}
		return &Image{ID: inspect.ID, Ref: inspect.ID}, nil
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, fmt.Errorf("resolve image %q: not an image reference: %w", ref, err)
	}
	img := &Image{Repo: reference.FamiliarName(named)}
	if tagged, ok := named.(reference.Tagged); ok {
		img.Tags = []string{tagged.Tag()}
	}
	if digested, ok := named.(reference.Digested); ok {
		img.Digest = digested.Digest().String()
	} else {
		named = reference.TagNameOnly(named) // "repo" means "repo:latest"
	}

	local, err := b.inspect(ctx, named.String())
	pull := err != nil || (img.Digest == "" && len(local.RepoDigests) > 0)
	if pull {
		pulled, pullErr := b.pull(ctx, named)
		if pullErr != nil {
			if cerrdefs.IsNotFound(pullErr) {
				return nil, fmt.Errorf("resolve image %s: %w: %v", ref, ErrNotFound, pullErr)
			}
			return nil, fmt.Errorf("resolve image %s: pull: %w", ref, pullErr)
		}
		if img.Digest == "" {
			img.Digest = pulled
		}
		if local, err = b.inspect(ctx, named.String()); err != nil {
			return nil, fmt.Errorf("resolve image %s after pulling it: %w", ref, err)
		}
	}
	img.ID = local.ID
	if img.Digest == "" {
		img.Digest = repoDigest(local.RepoDigests, named.Name())
	}
	img.Ref = img.ID
	if img.Digest != "" {
		img.Ref = img.Repo + "@" + img.Digest
	}
	return img, nil
}

func (b *Builder) inspect(ctx context.Context, ref string) (image.InspectResponse, error) {
	inspect, err := b.Client.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return inspect, fmt.Errorf("%w: %s is not on the Engine", ErrNotFound, ref)
	}
	return inspect, err
}

// pull pulls named and returns the manifest digest the registry served.
func (b *Builder) pull(ctx context.Context, named reference.Named) (string, error) {
	var opts image.PullOptions
	if b.Registry.serves(named) {
		auth, err := b.Registry.authHeader()
		if err != nil {
			return "", err
		}
		opts.RegistryAuth = auth
	}
	rc, err := b.Client.ImagePull(ctx, named.String(), opts)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	var digest string
	err = decodeStream(rc, func(m *message) error {
		if s := pullDigestRE.FindStringSubmatch(m.Status); s != nil {
			digest = s[1]
		}
		return nil
	})
	return digest, err
}

// repoDigest is the digest in repoDigests ("name@sha256:...") for name.
func repoDigest(repoDigests []string, name string) string {
	for _, rd := range repoDigests {
		n, err := reference.ParseNormalizedNamed(rd)
		if err != nil || n.Name() != name {
			continue
		}
		if d, ok := n.(reference.Digested); ok {
			return d.Digest().String()
		}
	}
	return ""
}
