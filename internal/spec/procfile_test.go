package spec

import (
	"os"
	"path/filepath"
	"testing"
)

func TestProcfileWeb(t *testing.T) {
	tests := []struct{ name, procfile, want string }{
		{"web line", "web: ./server --port $PORT\n", "./server --port $PORT"},
		{"among others", "# processes\nworker: ./worker\nweb:   bundle exec puma  \nrelease: ./migrate\n", "bundle exec puma"},
		{"colon in command", "web: ./app --listen=:$PORT\n", "./app --listen=:$PORT"},
		{"no web line", "worker: ./worker\n", ""},
		{"webhook is not web", "webhook: ./hook\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "Procfile", tt.procfile)
			got, err := procfileWeb(dir)
			if err != nil || got != tt.want {
				t.Errorf("procfileWeb = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestProcfileWeb_NoProcfileIsNoCommand(t *testing.T) {
	got, err := procfileWeb(t.TempDir())
	if err != nil || got != "" {
		t.Errorf("procfileWeb = %q, %v; want \"\", nil", got, err)
	}
}

func TestProcfileWeb_EmptyWebCommandNamesLine(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "Procfile", "worker: ./w\nweb:\n")
	_, err := procfileWeb(dir)
	if want := "Procfile:2: web: empty command"; err == nil || err.Error() != want {
		t.Errorf("procfileWeb error = %v, want %s", err, want)
	}
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
