package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/volume"
)

// Set by TestMain for the whole test binary.
var (
	engine      *Runtime // for setup and cleanup, never the Runtime under test
	runID       string   // prefix of every instance ID of this run
	testImage   string   // testdata/app, FROM scratch
	brokenImage string   // the same, with an entrypoint that does not exist
)

// TestMain builds the test images once, runs the tests, then removes every
// container of this run and the images. The tests need a Docker Engine: when
// it is not reachable they fail, saying how to start one.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var err error
	if engine, err = New(ctx, Options{}); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\nThe docker runtime tests need a Docker Engine: run scripts/docker.sh (as root; `make test` does).\n", err)
		return 1
	}
	defer engine.Close()
	b := make([]byte, 3)
	rand.Read(b)
	runID = "dt" + hex.EncodeToString(b)
	testImage = "nonstop-docker-test:" + runID
	brokenImage = testImage + "-broken"

	defer removeImages()
	if err := buildImages(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: build the test image: %v\n", err)
		return 1
	}
	code := m.Run()
	removeRunContainers()
	removeRunVolumes()
	if err := engine.RemoveNetworks(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "cleanup: %v\n", err)
	}
	return code
}

// buildImages compiles testdata/app statically and builds testImage and
// brokenImage from it through the Engine's build API.
func buildImages(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "nonstop-docker-test-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "app"), "./testdata/app")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./testdata/app: %v\n%s", err, out)
	}
	bin, err := os.ReadFile(filepath.Join(dir, "app"))
	if err != nil {
		return err
	}
	buildCtx, err := tarFiles(map[string][]byte{
		"app":               bin,
		"Dockerfile":        []byte("FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n"),
		"Dockerfile.broken": []byte("FROM scratch\nCOPY app /app\nENTRYPOINT [\"/missing\"]\n"),
	})
	if err != nil {
		return err
	}
	for tag, dockerfile := range map[string]string{testImage: "Dockerfile", brokenImage: "Dockerfile.broken"} {
		if err := buildImage(ctx, bytes.NewReader(buildCtx), tag, dockerfile); err != nil {
			return fmt.Errorf("%s: %w", tag, err)
		}
	}
	return nil
}

func buildImage(ctx context.Context, buildCtx io.Reader, tag, dockerfile string) error {
	resp, err := engine.cli.ImageBuild(ctx, buildCtx, build.ImageBuildOptions{
		Tags: []string{tag}, Dockerfile: dockerfile, Remove: true, ForceRemove: true,
		Labels: map[string]string{"io.nonstop.test": runID},
	})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var log strings.Builder
	dec := json.NewDecoder(resp.Body)
	for {
		var msg struct {
			Stream string `json:"stream"`
			Error  string `json:"error"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("read the build output: %w", err)
		}
		log.WriteString(msg.Stream)
		if msg.Error != "" {
			return fmt.Errorf("%s\n%s", msg.Error, log.String())
		}
	}
}

func tarFiles(files map[string][]byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(data)), ModTime: time.Unix(0, 0)}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// removeRunContainers removes what a failed test may have left of this run.
func removeRunContainers() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := engine.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelManaged+"=true"))})
	if err != nil {
		fmt.Fprintf(os.Stderr, "cleanup: list containers: %v\n", err)
		return
	}
	for _, c := range cs {
		if strings.HasPrefix(c.Labels[LabelInstance], runID) || c.Image == testImage || c.Image == brokenImage {
			if err := engine.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
				fmt.Fprintf(os.Stderr, "cleanup: remove container %s: %v\n", c.ID, err)
			}
		}
	}
}

// removeRunVolumes removes the volumes of this run's apps that a failed test
// may have left.
func removeRunVolumes() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	vs, err := engine.cli.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelManaged+"=true"))})
	if err != nil {
		fmt.Fprintf(os.Stderr, "cleanup: list volumes: %v\n", err)
		return
	}
	for _, v := range vs.Volumes {
		if strings.HasPrefix(v.Labels[LabelApp], runID) {
			if err := engine.cli.VolumeRemove(ctx, v.Name, true); err != nil {
				fmt.Fprintf(os.Stderr, "cleanup: remove volume %s: %v\n", v.Name, err)
			}
		}
	}
}

func removeImages() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, ref := range []string{testImage, brokenImage} {
		if _, err := engine.cli.ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !cerrdefs.IsNotFound(err) {
			fmt.Fprintf(os.Stderr, "cleanup: remove image %s: %v\n", ref, err)
		}
	}
}
