package main

import (
	"path/filepath"
	"testing"
)

func TestFolderApp_IsTheFoldersNameMadeAnAppName(t *testing.T) {
	root := t.TempDir()
	for folder, want := range map[string]string{
		"shop":        "shop",
		"My Shop":     "my-shop",
		"shop_v2.app": "shop-v2-app",
		"--x--":       "x",
		"日本":          "",
		"___":         "",
	} {
		if got := folderApp(filepath.Join(root, folder)); got != want {
			t.Errorf("folderApp(%q) = %q, want %q", folder, got, want)
		}
	}
}
