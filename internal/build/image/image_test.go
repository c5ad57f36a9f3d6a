package image

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
)

func TestBuild_PushesBothTagsAndPinsTheRegistryDigest(t *testing.T) {
	b := newTestBuilder(t, true)
	app := uniqueApp(t)
	removeAppImages(t, b, app)
	sha := randomHex(t, 20)
	var log bytes.Buffer
	img, err := b.Build(t.Context(), BuildRequest{App: app, Number: 1, Dir: appContext(t, "v1"), GitSHA: sha, Log: &log})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, log.String())
	}
	for _, want := range []string{"Step 1/", "COPY . /app/", "Pushing " + img.Repo + ":1", "Pushing " + img.Repo + ":" + sha} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("build log lacks %q:\n%s", want, log.String())
		}
	}
	mb := -1.0
	if m := regexp.MustCompile(`Sending build context to Docker Engine: ([\d.]+)MB`).FindStringSubmatch(log.String()); m != nil {
		mb, _ = strconv.ParseFloat(m[1], 64)
	}
	if mb <= 0 || mb >= junkSize>>20 {
		t.Errorf("build context size not reported, or not under the %dMB junk file that .dockerignore excludes:\n%s", junkSize>>20, log.String())
	}

	repo := b.Registry.Host + "/" + app
	if img.Repo != repo || !slices.Equal(img.Tags, []string{"1", sha}) {
		t.Errorf("image = %+v, want repo %s, tags [1 %s]", img, repo, sha)
	}
	if !strings.HasPrefix(img.Digest, "sha256:") || img.Ref != repo+"@"+img.Digest || !strings.HasPrefix(img.ID, "sha256:") {
		t.Errorf("image = %+v, want Ref REPO@DIGEST and a local ID", img)
	}
	if cat := registryCatalog(t, b.Registry); !slices.Contains(cat, app) {
		t.Errorf("registry catalog %v lacks %s", cat, app)
	}
	if tags := registryTags(t, b.Registry, app); !slices.Contains(tags, "1") || !slices.Contains(tags, sha) {
		t.Errorf("registry tags of %s = %v, want 1 and %s", app, tags, sha)
	}
	for _, tag := range []string{"1", sha} {
		if got := manifestDigest(t, b.Registry, app, tag); got != img.Digest {
			t.Errorf("registry digest of %s:%s = %s, Build returned %s", app, tag, got, img.Digest)
		}
	}

	inspect, err := b.Client.ImageInspect(t.Context(), img.Ref)
	if err != nil {
		t.Fatalf("inspect %s: %v", img.Ref, err)
	}
	if inspect.ID != img.ID || inspect.Config.Labels[LabelApp] != app || inspect.Config.Labels[LabelGitSHA] != sha {
		t.Errorf("inspect %s: ID %s labels %v; want ID %s, %s=%s", img.Ref, inspect.ID, inspect.Config.Labels, img.ID, LabelApp, app)
	}
	files := imageFiles(t, b, img.ID)
	for _, f := range []string{"app/server", "app/version.txt", "app/Dockerfile", "app/.dockerignore"} {
		if !files[f] {
			t.Errorf("image lacks %s; it has %v", f, files)
		}
	}
	for _, f := range []string{"app/junk.bin", "app/build.log", "app/.git", "app/.git/HEAD"} {
		if files[f] {
			t.Errorf("image has %s, which must not have been sent", f)
		}
	}
}

// Backs "rollback to a pinned digest after the tag was overwritten".
func TestResolve_PinnedDigestOutlivesAnOverwrittenTag(t *testing.T) {
	b := newTestBuilder(t, true)
	app := uniqueApp(t)
	removeAppImages(t, b, app)
	old, err := b.Build(t.Context(), BuildRequest{App: app, Number: 1, Dir: appContext(t, "v1")})
	if err != nil {
		t.Fatal(err)
	}
	next, err := b.Build(t.Context(), BuildRequest{App: app, Number: 1, Dir: appContext(t, "v2")})
	if err != nil {
		t.Fatal(err)
	}
	if next.Digest == old.Digest || next.ID == old.ID {
		t.Fatalf("the second build is the same image: %+v, %+v", old, next)
	}
	if got := manifestDigest(t, b.Registry, app, "1"); got != next.Digest {
		t.Fatalf("tag 1 in the registry = %s, want the second build's %s", got, next.Digest)
	}
	// Forget the old image locally, so that only the registry has it.
	if _, err := b.Client.ImageRemove(t.Context(), old.ID, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
		t.Fatal(err)
	}

	got, err := b.Resolve(t.Context(), old.Ref)
	if err != nil {
		t.Fatalf("resolve the old pinned ref: %v", err)
	}
	if got.Digest != old.Digest || got.ID != old.ID || got.Ref != old.Ref {
		t.Errorf("resolve %s = %+v, want digest %s, ID %s", old.Ref, got, old.Digest, old.ID)
	}
	tag, err := b.Resolve(t.Context(), old.Repo+":1")
	if err != nil {
		t.Fatalf("resolve the tag: %v", err)
	}
	if tag.Digest != next.Digest || tag.Ref != next.Ref || tag.ID != next.ID {
		t.Errorf("resolve %s:1 = %+v, want the second build %+v", old.Repo, tag, next)
	}
}

func TestResolve_LocalOnlyImageIsUsedWithoutAPull(t *testing.T) {
	b := newTestBuilder(t, false)
	app := uniqueApp(t)
	removeAppImages(t, b, app)
	img, err := b.Build(t.Context(), BuildRequest{App: app, Number: 1, Dir: appContext(t, "v1")})
	if err != nil {
		t.Fatal(err)
	}
	if img.Repo != "nonstop/"+app || img.Digest != "" || img.Ref != img.ID {
		t.Fatalf("local build = %+v, want repo nonstop/%s, no digest, Ref = ID", img, app)
	}
	// "nonstop/APP" would be Docker Hub's: a pull would fail here.
	for _, ref := range []string{"nonstop/" + app + ":1", img.ID, img.ID[len("sha256:"):][:12]} {
		got, err := b.Resolve(t.Context(), ref)
		if err != nil || got.ID != img.ID || got.Ref != img.ID {
			t.Errorf("resolve %s = %+v, %v; want the local image %s", ref, got, err, img.ID)
		}
	}
}

func TestResolve_UnknownRefIsNotFound(t *testing.T) {
	b := newTestBuilder(t, true)
	for _, ref := range []string{
		b.Registry.Host + "/" + uniqueApp(t) + ":1",
		b.Registry.Host + "/" + uniqueApp(t) + "@sha256:" + strings.Repeat("0", 64),
		"sha256:" + strings.Repeat("0", 64),
	} {
		_, err := b.Resolve(t.Context(), ref)
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), ref) {
			t.Errorf("resolve %s: %v, want ErrNotFound naming the ref", ref, err)
		}
	}
}

func TestBuild_FailureNamesTheDockerfileLine(t *testing.T) {
	b := newTestBuilder(t, false)
	for _, tc := range []struct {
		name, dockerfile string
		line             int
		prefix, message  string
	}{{
		name: "copy of a missing file",
		dockerfile: "# escape=\\\n# a test app that fails to build\n\nARG VERSION=1\nFROM scratch\n\n" +
			"# not in the context\nCOPY missing-file \\\n     /x\n",
		line:    8,
		prefix:  "Dockerfile:8: COPY missing-file /x: ",
		message: "COPY failed",
	}, {
		name:       "run without a shell",
		dockerfile: "FROM scratch\n# scratch has no shell\nRUN ./missing && \\\n  # a comment inside\n  echo never\n",
		line:       3,
		prefix:     "Dockerfile:3: RUN ./missing && echo never: ",
	}, {
		name:       "unknown instruction",
		dockerfile: "FROM scratch\n\nFOO bar\n",
		line:       3,
		prefix:     "Dockerfile:3: FOO bar: ",
		message:    "unknown instruction",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			app := uniqueApp(t)
			removeAppImages(t, b, app)
			dir := t.TempDir()
			writeFile(t, dir+"/Dockerfile", tc.dockerfile)
			var log bytes.Buffer
			_, err := b.Build(t.Context(), BuildRequest{App: app, Number: 1, Dir: dir, Log: &log})
			var be *BuildError
			if !errors.As(err, &be) {
				t.Fatalf("build: %v, want a *BuildError\n%s", err, log.String())
			}
			if be.Line != tc.line || !strings.HasPrefix(err.Error(), tc.prefix) || !strings.Contains(be.Message, tc.message) {
				t.Errorf("build error %q (line %d), want line %d, %q..., containing %q", err, be.Line, tc.line, tc.prefix, tc.message)
			}
			t.Log(err)
		})
	}
}

func TestPrune_RemovesOldImagesButKeepsTheListedAndTheUsed(t *testing.T) {
	b := newTestBuilder(t, true)
	app := uniqueApp(t)
	removeAppImages(t, b, app)
	var imgs []*Image
	for n := 1; n <= 4; n++ {
		img, err := b.Build(t.Context(), BuildRequest{App: app, Number: n, Dir: appContext(t, "v"+string(rune('0'+n)))})
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	// Build 1 is what a stopped container was created from.
	c, err := b.Client.ContainerCreate(t.Context(), &container.Config{Image: imgs[0].Ref}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // before removeAppImages: cleanups run last first
		if err := b.Client.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true}); err != nil {
			t.Errorf("remove container %s: %v", c.ID, err)
		}
	})

	// Kept: build 3 by its pinned ref, build 4 by its image ID.
	if err := b.Prune(t.Context(), app, []string{imgs[2].Ref, imgs[3].ID}); err != nil {
		t.Fatalf("prune: %v", err)
	}
	for i, want := range []bool{true, false, true, true} {
		_, err := b.Client.ImageInspect(t.Context(), imgs[i].ID)
		if exists := err == nil; exists != want {
			t.Errorf("after prune, build %d exists = %v (%v), want %v", i+1, exists, err, want)
		}
	}
	// Pruning is local: the registry still serves build 2 for a rollback.
	if got := manifestDigest(t, b.Registry, app, "2"); got != imgs[1].Digest {
		t.Errorf("registry digest of tag 2 after prune = %s, want %s", got, imgs[1].Digest)
	}
	again, err := b.Resolve(t.Context(), imgs[1].Ref)
	if err != nil || again.ID != imgs[1].ID {
		t.Errorf("resolve pruned build 2 = %+v, %v; want it pulled back as %s", again, err, imgs[1].ID)
	}
}

func TestNewBuilder_EngineDownNamesTheSocket(t *testing.T) {
	sock := t.TempDir() + "/docker.sock"
	_, err := NewBuilder(t.Context(), "unix://"+sock, Registry{})
	if err == nil || !strings.Contains(err.Error(), sock) || !strings.Contains(err.Error(), "scripts/docker.sh") {
		t.Errorf("NewBuilder with no Engine: %v, want an error naming %s and scripts/docker.sh", err, sock)
	}
}
