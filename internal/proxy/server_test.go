package proxy

import (
	"net/http"
	"testing"
)

func TestNewServer_BoundsIdleClientsButNotStreams(t *testing.T) {
	s := NewServer(":8080", http.NotFoundHandler())
	if s.ReadHeaderTimeout <= 0 || s.IdleTimeout <= 0 || s.MaxHeaderBytes <= 0 {
		t.Fatalf("missing bounds: %+v", s)
	}
	if s.WriteTimeout != 0 || s.ReadTimeout != 0 {
		t.Fatal("a read or write timeout would cut long streams")
	}
}
