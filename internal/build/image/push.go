package image

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"

	"github.com/docker/docker/api/types/image"
)

// pushStatusDigestRE reads the digest from the push's last status line,
// "7: digest: sha256:... size: 528", for Engines that send no aux message.
var pushStatusDigestRE = regexp.MustCompile(`digest: (sha256:[0-9a-f]{64}) size: \d+`)

// push pushes repo:tag for each tag and returns the manifest digest the
// registry stored for the first.
func (b *Builder) push(ctx context.Context, repo string, tags []string, log io.Writer) (string, error) {
	auth, err := b.Registry.authHeader()
	if err != nil {
		return "", err
	}
	var first string
	for _, tag := range tags {
		ref := repo + ":" + tag
		digest, err := b.pushTag(ctx, ref, auth, log)
		if err != nil {
			return "", fmt.Errorf("push %s: %w", ref, err)
		}
		if first == "" {
			first = digest
		}
	}
	return first, nil
}

func (b *Builder) pushTag(ctx context.Context, ref, auth string, log io.Writer) (string, error) {
	rc, err := b.Client.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: auth})
	if err != nil {
		return "", err
	}
	defer rc.Close()
	fmt.Fprintf(log, "Pushing %s\n", ref)
	var digest string
	err = decodeStream(rc, func(m *message) error {
		if len(m.Aux) > 0 {
			var aux struct{ Digest string }
			if json.Unmarshal(m.Aux, &aux) == nil && aux.Digest != "" {
				digest = aux.Digest
			}
		}
		if digest == "" {
			if s := pushStatusDigestRE.FindStringSubmatch(m.Status); s != nil {
				digest = s[1]
			}
		}
		logStatus(log, m)
		return nil
	})
	if err != nil {
		return "", err
	}
	if digest == "" {
		return "", fmt.Errorf("the Engine reported no digest for %s", ref)
	}
	return digest, nil
}

// logStatus writes a push or pull status line, leaving out progress bars
// and the per-layer chatter.
func logStatus(log io.Writer, m *message) {
	if m.Status == "" || m.hasProgress() {
		return
	}
	switch m.Status {
	case "Preparing", "Waiting", "Pulling fs layer", "Verifying Checksum", "Download complete":
		return
	}
	if m.ID != "" {
		fmt.Fprintf(log, "%s: %s\n", m.ID, m.Status)
		return
	}
	fmt.Fprintln(log, m.Status)
}
