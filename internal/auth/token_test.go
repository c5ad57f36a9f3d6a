package auth

import (
	"strings"
	"testing"
)

func TestNewToken_IsRandomPrefixedAndHashedStably(t *testing.T) {
	a, b := NewToken(), NewToken()
	if a == b {
		t.Fatal("two tokens are equal")
	}
	if !strings.HasPrefix(a, Prefix) || len(a) != len(Prefix)+32 {
		t.Fatalf("token %q: want %s and 32 characters", a, Prefix)
	}
	if Hash(a) != Hash(a) || Hash(a) == Hash(b) || strings.Contains(Hash(a), a) {
		t.Fatal("hash is not a stable one-way digest")
	}
}

func TestRedact_HidesAllButTheEnd(t *testing.T) {
	tok := NewToken()
	r := Redact(tok)
	if strings.Contains(r, tok[len(Prefix):len(tok)-4]) || !strings.HasSuffix(r, tok[len(tok)-4:]) {
		t.Fatalf("redacted %q of %q", r, tok)
	}
	if Redact("short") != "****" {
		t.Fatal("short secrets must be fully hidden")
	}
}
