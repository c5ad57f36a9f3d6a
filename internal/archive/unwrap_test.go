package archive

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func listing(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	slices.Sort(out)
	return out
}

func TestUnwrap_AnArchiveOfOneFolderStartsInIt(t *testing.T) {
	for name, c := range map[string]struct {
		files  map[string]string
		folder string
		want   []string
	}{
		"GitHub's Download ZIP":         {map[string]string{"shop-main/Procfile": "web: ./app", "shop-main/lib/x.go": "x"}, "shop-main", []string{"Procfile", "lib/x.go"}},
		"Finder's Compress":             {map[string]string{"shop/index.html": "<h1>", "__MACOSX/shop/._index.html": "fork", ".DS_Store": "x"}, "shop", []string{"index.html"}},
		"a folder holding its own name": {map[string]string{"app/app/main.go": "m", "app/go.mod": "g"}, "app", []string{"app/main.go", "go.mod"}},
		"a source at the root":          {map[string]string{"Procfile": "web: x", "lib/x.go": "x"}, "", []string{"Procfile", "lib/x.go"}},
		"one file at the root":          {map[string]string{"README": "r", "src/main.go": "m"}, "", []string{"README", "src/main.go"}},
		"two folders":                   {map[string]string{"a/x": "1", "b/y": "2"}, "", []string{"a/x", "b/y"}},
	} {
		t.Run(name, func(t *testing.T) {
			dir := tree(t, c.files)
			folder, err := Unwrap(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := listing(t, dir); folder != c.folder || !slices.Equal(got, c.want) {
				t.Errorf("unwrapped %q into %v, want %q into %v", folder, got, c.folder, c.want)
			}
		})
	}
}
