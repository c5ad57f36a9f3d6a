package client

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The client knows the server only by its wire types: it imports the
// standard library and package wire, which imports the standard library
// alone; never the store, the API or the engine.
func TestClient_ImportsOnlyTheStandardLibraryAndWire(t *testing.T) {
	const wire = "github.com/nonstopdev/nonstop/internal/wire"
	for dir, allowed := range map[string]string{".": wire, "../wire": ""} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range parsed.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") && path != allowed {
					t.Errorf("%s imports %s", f, path)
				}
			}
		}
	}
}
