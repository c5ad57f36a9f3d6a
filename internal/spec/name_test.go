package spec

import (
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	for _, name := range []string{"a", "hello", "my-app-2", "0day", strings.Repeat("a", 63)} {
		if err := ValidName(name); err != nil {
			t.Errorf("ValidName(%q) = %v, want nil", name, err)
		}
	}
	tests := []struct{ name, want string }{
		{"", "empty name (an app name is a DNS label: 1 to 63 lowercase letters, digits and '-')"},
		{strings.Repeat("a", 64), `invalid name "` + strings.Repeat("a", 64) + `": 64 characters, the limit is 63`},
		{"-app", `invalid name "-app": must not start or end with '-'`},
		{"app-", `invalid name "app-": must not start or end with '-'`},
		{"my_app", `invalid name "my_app": '_' is not allowed (an app name is a DNS label: 1 to 63 lowercase letters, digits and '-')`},
		{"My", `invalid name "My": 'M' is not allowed (an app name is a DNS label: 1 to 63 lowercase letters, digits and '-')`},
		{"a.b", `invalid name "a.b": '.' is not allowed (an app name is a DNS label: 1 to 63 lowercase letters, digits and '-')`},
		{"café", `invalid name "café": 'é' is not allowed (an app name is a DNS label: 1 to 63 lowercase letters, digits and '-')`},
	}
	for _, tt := range tests {
		if err := ValidName(tt.name); err == nil || err.Error() != tt.want {
			t.Errorf("ValidName(%q) = %v, want %s", tt.name, err, tt.want)
		}
	}
}
