package archive

import "testing"

func TestIgnore_Matches(t *testing.T) {
	list, err := parseIgnore([]byte(`# build output
node_modules/
*.log
/dist
docs/*.md

`))
	must(t, err)
	tests := []struct {
		rel   string
		isDir bool
		want  bool
	}{
		{"node_modules", true, true},
		{"web/node_modules", true, true},
		{"node_modules", false, false}, // a trailing / matches folders only
		{"app.log", false, true},
		{"logs/app.log", false, true}, // the base name matches
		{"dist", true, true},
		{"web/dist", true, false}, // a leading / anchors to the root
		{"docs/a.md", false, true},
		{"docs/sub/a.md", false, false},
		{"main.go", false, false},
		{"# build output", false, false},
	}
	for _, tt := range tests {
		if got := list.match(tt.rel, tt.isDir); got != tt.want {
			t.Errorf("match(%q, dir=%v) = %v, want %v", tt.rel, tt.isDir, got, tt.want)
		}
	}
}

func TestIgnore_BadPatternNamesLine(t *testing.T) {
	_, err := parseIgnore([]byte("ok\n# fine\n[oops\n"))
	if want := `.nonstopignore:3: bad pattern "[oops": syntax error in pattern`; err == nil || err.Error() != want {
		t.Errorf("parseIgnore error = %v, want %s", err, want)
	}
}

func TestIgnore_NoFileIgnoresNothing(t *testing.T) {
	list, err := loadIgnore(t.TempDir())
	if err != nil || list.match("anything", false) {
		t.Errorf("loadIgnore = %v, %v; want an empty list", list, err)
	}
}
