package auth_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nonstopdev/nonstop/internal/auth"
)

func TestPassword_AHashChecksItsPasswordAndNoOther(t *testing.T) {
	h, err := auth.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") || strings.Contains(h, "correct horse") {
		t.Errorf("hash %q: want argon2id in PHC form, without the password", h)
	}
	if !auth.CheckPassword(h, "correct horse battery") {
		t.Error("the password does not check against its own hash")
	}
	for _, wrong := range []string{"correct horse batterY", "", "correct horse battery "} {
		if auth.CheckPassword(h, wrong) {
			t.Errorf("%q checks against the hash of another password", wrong)
		}
	}
	again, _ := auth.HashPassword("correct horse battery")
	if again == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=0,t=3,p=2$AAAA$AAAA", "$bcrypt$x", h[:len(h)-4] + "$$"} {
		if auth.CheckPassword(bad, "correct horse battery") {
			t.Errorf("malformed hash %q matched", bad)
		}
	}
}

func TestPassword_TooShortOrTooLongIsRefused(t *testing.T) {
	for _, pw := range []string{"short", strings.Repeat("x", auth.MaxPassword+1)} {
		if _, err := auth.HashPassword(pw); !errors.Is(err, auth.ErrPasswordRule) {
			t.Errorf("password of %d characters: %v, want the rule", len(pw), err)
		}
	}
}
