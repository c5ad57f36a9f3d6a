// Package auth makes and checks API tokens and passwords. A token is shown
// once, when it is made; the store keeps only its SHA-256 hash. A password
// is kept as its argon2id hash (password.go).
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
)

// Prefix marks nonstop tokens, so that secret scanners can find leaked ones.
const Prefix = "nst_"

// NewToken returns a fresh random token (160 bits).
func NewToken() string {
	b := make([]byte, 20)
	rand.Read(b)
	return Prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// Hash is what the store keeps of a token.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Redact shortens a token for logs and messages: its prefix and last 4 characters.
func Redact(token string) string {
	if len(token) <= len(Prefix)+8 {
		return "****"
	}
	return token[:len(Prefix)] + "…" + token[len(token)-4:]
}
