package proxy

import "testing"

func TestHostURL_NamesTheListenersPortUnlessItIsTheDefault(t *testing.T) {
	for _, c := range []struct{ listen, want string }{
		{"http://127.0.0.1:8080", "http://v2.app.localhost:8080/"},
		{"http://:80", "http://v2.app.localhost/"},
		{"https://0.0.0.0:443", "https://v2.app.localhost/"},
		{"https://0.0.0.0:8443", "https://v2.app.localhost:8443/"},
		{"", "http://v2.app.localhost/"},
	} {
		if got := HostURL(c.listen, "v2.app.localhost"); got != c.want {
			t.Errorf("HostURL(%q) = %q, want %q", c.listen, got, c.want)
		}
	}
}
