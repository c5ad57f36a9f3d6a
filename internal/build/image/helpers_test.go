package image

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
)

// serverBinary is the test app, compiled once by TestMain.
var serverBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nonstop-image-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	serverBinary = filepath.Join(dir, "server")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", serverBinary, "./testdata/server/main.go")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build the test app: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const registryEnvFile = "/var/lib/nonstop-test/registry.env"

// testRegistry is the loopback registry that scripts/docker.sh starts.
func testRegistry(t *testing.T) Registry {
	t.Helper()
	path := registryEnvFile
	if p := os.Getenv("NONSTOP_TEST_REGISTRY_ENV"); p != "" {
		path = p
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("the test registry's credentials: %v; run scripts/docker.sh as root (make test does)", err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	reg := Registry{Host: env["NONSTOP_TEST_REGISTRY"], Username: env["NONSTOP_TEST_REGISTRY_USER"], Password: env["NONSTOP_TEST_REGISTRY_PASSWORD"]}
	if reg.Host == "" {
		t.Fatalf("%s names no NONSTOP_TEST_REGISTRY; run scripts/docker.sh as root", path)
	}
	resp, err := registryGet(t, reg, http.MethodGet, "/v2/", "")
	if err != nil {
		t.Fatalf("the test registry at %s does not answer (%v); run scripts/docker.sh as root (make test does)", reg.Host, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the test registry at %s answers %s to its credentials; run scripts/docker.sh as root", reg.Host, resp.Status)
	}
	return reg
}

// newTestBuilder connects to the real Engine; with push, to the real
// registry too.
func newTestBuilder(t *testing.T, push bool) *Builder {
	t.Helper()
	var reg Registry
	if push {
		reg = testRegistry(t)
	}
	b, err := NewBuilder(t.Context(), "", reg)
	if err != nil {
		t.Fatalf("%v\nthe image tests need the Docker Engine: run scripts/docker.sh as root (make test does)", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// uniqueApp is an app name no earlier run used: the registry keeps its
// repositories across runs.
func uniqueApp(t *testing.T) string {
	t.Helper()
	return "it-" + randomHex(t, 4)
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(buf)
}

const junkSize = 32 << 20

// appContext writes a build context: the static test server, a FROM
// scratch Dockerfile that copies the whole context in, a version file, a
// .git folder, and a big junk file that .dockerignore excludes.
func appContext(t *testing.T, version string) string {
	t.Helper()
	dir := t.TempDir()
	bin, err := os.ReadFile(serverBinary)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"server":        string(bin),
		"version.txt":   version + "\n",
		".dockerignore": "# not part of the image\njunk.bin\n*.log\n",
		"build.log":     "ignored too\n",
		".git/HEAD":     "ref: refs/heads/main\n",
		"Dockerfile": `# the test app
FROM scratch
COPY . /app/
EXPOSE 8080
ENTRYPOINT ["/app/server"]
`,
	}
	for name, content := range files {
		writeFile(t, filepath.Join(dir, name), content)
	}
	if err := os.Chmod(filepath.Join(dir, "server"), 0o755); err != nil {
		t.Fatal(err)
	}
	junk, err := os.Create(filepath.Join(dir, "junk.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := junk.Truncate(junkSize); err != nil { // sparse: big to send, free to write
		t.Fatal(err)
	}
	junk.Close()
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// removeAppImages removes, when the test ends, every local image of app,
// and the manifests pushed for it from the registry.
func removeAppImages(t *testing.T, b *Builder, app string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		images, err := b.appImages(ctx, app)
		if err != nil {
			t.Errorf("list images of %s: %v", app, err)
			return
		}
		digests := map[string]bool{}
		for _, img := range images {
			for _, rd := range img.RepoDigests {
				if _, d, ok := strings.Cut(rd, "@"); ok {
					digests[d] = true
				}
			}
			if _, err := b.Client.ImageRemove(ctx, img.ID, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
				t.Logf("remove image %s: %v", img.ID, err)
			}
		}
		if b.Registry.Host == "" {
			return
		}
		for d := range digests {
			resp, err := registryGet(t, b.Registry, http.MethodDelete, "/v2/"+app+"/manifests/"+d, "")
			if err != nil {
				t.Logf("delete %s@%s from the registry: %v", app, d, err)
				continue
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusNotFound {
				t.Logf("delete %s@%s from the registry: %s", app, d, resp.Status)
			}
		}
	})
}

// registryGet sends a request to the registry's HTTP API with its
// credentials. It works in a Cleanup too, after t.Context() has ended.
func registryGet(t *testing.T, reg Registry, method, path, accept string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+reg.Domain()+path, nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(reg.Username, reg.Password)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	return (&http.Client{Timeout: 10 * time.Second}).Do(req)
}

func registryJSON(t *testing.T, reg Registry, path string, v any) {
	t.Helper()
	resp, err := registryGet(t, reg, http.MethodGet, path, "")
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// registryCatalog lists the registry's repositories, page by page.
func registryCatalog(t *testing.T, reg Registry) []string {
	t.Helper()
	var all []string
	next := "/v2/_catalog?n=100"
	for next != "" {
		resp, err := registryGet(t, reg, http.MethodGet, next, "")
		if err != nil {
			t.Fatalf("GET %s: %v", next, err)
		}
		var page struct{ Repositories []string }
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("GET %s: %s %v", next, resp.Status, err)
		}
		all = append(all, page.Repositories...)
		// Link: </v2/_catalog?last=x&n=100>; rel="next"
		next = ""
		if link := resp.Header.Get("Link"); strings.Contains(link, `rel="next"`) {
			next = strings.Trim(strings.TrimSpace(strings.Split(link, ";")[0]), "<>")
		}
	}
	return all
}

// registryTags lists a repository's tags.
func registryTags(t *testing.T, reg Registry, repo string) []string {
	var tags struct{ Tags []string }
	registryJSON(t, reg, "/v2/"+repo+"/tags/list", &tags)
	return tags.Tags
}

// manifestDigest is the digest the registry serves for repo:tag.
func manifestDigest(t *testing.T, reg Registry, repo, tag string) string {
	t.Helper()
	resp, err := registryGet(t, reg, http.MethodHead, "/v2/"+repo+"/manifests/"+tag, "application/vnd.docker.distribution.manifest.v2+json")
	if err != nil {
		t.Fatalf("HEAD manifest %s:%s: %v", repo, tag, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD manifest %s:%s: %s", repo, tag, resp.Status)
	}
	return resp.Header.Get("Docker-Content-Digest")
}

// imageFiles lists the paths in an image's layers, from `docker save`.
func imageFiles(t *testing.T, b *Builder, ref string) map[string]bool {
	t.Helper()
	rc, err := b.Client.ImageSave(t.Context(), []string{ref})
	if err != nil {
		t.Fatalf("save %s: %v", ref, err)
	}
	defer rc.Close()
	files := map[string]bool{}
	outer := tar.NewReader(rc)
	for {
		hdr, err := outer.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatalf("read saved %s: %v", ref, err)
		}
		if !strings.HasSuffix(hdr.Name, "layer.tar") && !strings.HasPrefix(hdr.Name, "blobs/") {
			continue
		}
		inner := tar.NewReader(outer)
		for {
			h, err := inner.Next()
			if err != nil {
				break // EOF, or a blob that is not a layer
			}
			files[strings.TrimSuffix(h.Name, "/")] = true
		}
	}
}
