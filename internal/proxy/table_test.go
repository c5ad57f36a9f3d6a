package proxy

import "testing"

func TestNormalizeHost(t *testing.T) {
	for in, want := range map[string]string{
		"App.Example.COM":      "app.example.com",
		"app.example.com:8080": "app.example.com",
		"app.example.com.":     "app.example.com",
		"[::1]:8080":           "::1",
		"[::1]":                "::1",
		"":                     "",
	} {
		if got := normalizeHost(in); got != want {
			t.Errorf("normalizeHost(%q) = %q, want %q", in, got, want)
		}
	}
}
