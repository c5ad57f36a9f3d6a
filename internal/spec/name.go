package spec

import "fmt"

// ValidName reports whether name can name an app: a DNS label of 1 to 63
// lowercase letters, digits and '-', not starting or ending with '-'. An
// app is served at NAME.localhost, so its name is part of a host name.
func ValidName(name string) error {
	const rule = "an app name is a DNS label: 1 to 63 lowercase letters, digits and '-'"
	switch {
	case name == "":
		return fmt.Errorf("empty name (%s)", rule)
	case len(name) > 63:
		return fmt.Errorf("invalid name %q: %d characters, the limit is 63", name, len(name))
	case name[0] == '-' || name[len(name)-1] == '-':
		return fmt.Errorf("invalid name %q: must not start or end with '-'", name)
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-') {
			return fmt.Errorf("invalid name %q: %q is not allowed (%s)", name, r, rule)
		}
	}
	return nil
}
