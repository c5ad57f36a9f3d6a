package proxy

import (
	"errors"
	"strings"
	"testing"
)

func TestReservedAddr_AnyWayToReachAnOwnListenerIsCaught(t *testing.T) {
	reserved := []string{":8080", "127.0.0.1:7070", "10.0.0.5:8443"}
	for addr, want := range map[string]string{
		"127.0.0.1:8080": ":8080",
		"[::1]:8080":     ":8080",
		"0.0.0.0:8080":   ":8080",
		"localhost:7070": "127.0.0.1:7070",
		"127.0.0.2:7070": "127.0.0.1:7070",
		"10.0.0.5:8443":  "10.0.0.5:8443",
		"10.0.0.6:8443":  "",
		"127.0.0.1:9090": "",
	} {
		if got := reservedAddr(addr, reserved); got != want {
			t.Errorf("reservedAddr(%s) = %q, want %q", addr, got, want)
		}
	}
}

func TestSetRoute_RefusesABackendThatIsNonstopsOwnListener(t *testing.T) {
	p := New(Options{Reserved: []string{"127.0.0.1:7070"}})
	defer p.Close()
	err := p.SetRoute(t.Context(), Route{App: "evil", Hosts: []string{"evil.localhost"}, Backends: []Backend{{Addr: "127.0.0.1:7070"}}})
	if !errors.Is(err, ErrInvalidRoute) || !strings.Contains(err.Error(), "nonstop's own listener 127.0.0.1:7070") {
		t.Fatalf("SetRoute to the API: %v, want refused naming the listener", err)
	}
	if err := p.SetRoute(t.Context(), Route{App: "ok", Hosts: []string{"ok.localhost"}, Backends: []Backend{{Addr: "127.0.0.1:7071"}}}); err != nil {
		t.Errorf("SetRoute to another port: %v", err)
	}
}
