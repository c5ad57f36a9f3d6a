package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// A decoder walks a YAML node tree into a Spec. It keeps going after a
// mistake so that one run reports them all, each with its key and line.
type decoder struct {
	lines map[string]int // key path -> line, for every key found
	errs  []error
}

// A field is a key that a mapping accepts and how to decode its value.
// decode gets the value's full key path, e.g. "health.interval".
type field struct {
	key    string
	decode func(path string, n *yaml.Node)
}

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: FileName, Line: n.Line, Key: path, Msg: fmt.Sprintf(format, args...)})
}

// object returns a decode func for a mapping of the given fields.
func (d *decoder) object(fields []field) func(string, *yaml.Node) {
	return func(path string, n *yaml.Node) { d.mapping(path, n, fields) }
}

// mapping decodes n, found at path ("" for the top level), whose keys must
// be among fields. An empty value (a bare "health:") is an empty mapping.
func (d *decoder) mapping(path string, n *yaml.Node, fields []field) {
	d.pairs(path, n, func(k, v *yaml.Node) {
		for _, f := range fields {
			if f.key == k.Value {
				full := join(path, k.Value)
				d.lines[full] = k.Line
				f.decode(full, v)
				return
			}
		}
		d.fail(k, path, "unknown key %q (known: %s)", k.Value, known(fields))
	})
}

// pairs calls fn for each key and value of the mapping n, after checking
// that n is a mapping and that no key is repeated.
func (d *decoder) pairs(path string, n *yaml.Node, fn func(k, v *yaml.Node)) {
	n = resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		what := "must be a mapping of keys"
		if path == "" {
			what = "the top level must be a mapping of keys (name: value)"
		}
		d.fail(n, path, "%s, got %s", what, describe(n))
		return
	}
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(k, path, "a key must be a plain word, got %s", describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.fail(k, path, "duplicate key %q (first at line %d)", k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		fn(k, v)
	}
}

// scalar returns the text of n, failing with "must be WANT" when n is a
// mapping, a list, or empty and !emptyOK.
func (d *decoder) scalar(path string, n *yaml.Node, want string, emptyOK bool) (string, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || (isNull(n) && !emptyOK) {
		d.fail(n, path, "must be %s, got %s", want, describe(n))
		return "", false
	}
	if isNull(n) {
		return "", true
	}
	return n.Value, true
}

func (d *decoder) str(p *string) func(string, *yaml.Node) {
	return func(path string, n *yaml.Node) {
		if v, ok := d.scalar(path, n, "a string", true); ok {
			*p = v
		}
	}
}

// integer decodes a whole number; want describes it ("a whole number >= 1").
func (d *decoder) integer(p *int, want string) func(string, *yaml.Node) {
	return func(path string, n *yaml.Node) {
		v, ok := d.scalar(path, n, want, false)
		if !ok {
			return
		}
		i, err := strconv.Atoi(v)
		if err != nil {
			d.fail(n, path, "must be %s, got %s", want, describe(n))
			return
		}
		*p = i
	}
}

// number decodes a decimal number; want describes it.
func (d *decoder) number(p *float64, want string) func(string, *yaml.Node) {
	return func(path string, n *yaml.Node) {
		v, ok := d.scalar(path, n, want, false)
		if !ok {
			return
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.fail(n, path, "must be %s, got %s", want, describe(n))
			return
		}
		*p = f
	}
}

// duration decodes a Go duration string such as "30s" or "500ms".
func (d *decoder) duration(p *time.Duration) func(string, *yaml.Node) {
	return func(path string, n *yaml.Node) {
		v, ok := d.scalar(path, n, "a duration such as 1s or 500ms", false)
		if !ok {
			return
		}
		dur, err := time.ParseDuration(v)
		if err != nil {
			d.fail(n, path, "invalid duration %s (use e.g. 1s, 500ms)", describe(n))
			return
		}
		*p = dur
	}
}

// pause decodes a canary step's pause: a duration, or "manual".
func (d *decoder) pause(st *CanaryStep) func(string, *yaml.Node) {
	return func(path string, n *yaml.Node) {
		v, ok := d.scalar(path, n, `a duration such as 30s, or "manual"`, false)
		if !ok {
			return
		}
		if v == "manual" {
			st.Manual = true
			return
		}
		dur, err := time.ParseDuration(v)
		if err != nil {
			d.fail(n, path, `invalid pause %s (use a duration such as 30s, or "manual")`, describe(n))
			return
		}
		st.Pause = dur
	}
}

// env decodes a mapping of variable names to values. Any scalar is taken
// as its text ("8080", "true"); an empty value is "".
func (d *decoder) env(p *map[string]string) func(string, *yaml.Node) {
	return func(path string, n *yaml.Node) {
		env := make(map[string]string)
		d.pairs(path, n, func(k, v *yaml.Node) {
			full := join(path, k.Value)
			d.lines[full] = k.Line
			if val, ok := d.scalar(full, v, "a string", true); ok {
				env[k.Value] = val
			}
		})
		*p = env
	}
}

// strings decodes a list of strings.
func (d *decoder) strings(p *[]string) func(string, *yaml.Node) {
	return func(path string, n *yaml.Node) {
		n = resolve(n)
		if isNull(n) {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, "must be a list ([a, b]), got %s", describe(n))
			return
		}
		out := make([]string, 0, len(n.Content))
		for i, item := range n.Content {
			if v, ok := d.scalar(fmt.Sprintf("%s[%d]", path, i), item, "a string", false); ok {
				out = append(out, v)
			}
		}
		*p = out
	}
}

// steps decodes the list of canary steps.
func (d *decoder) steps(p *[]CanaryStep) func(string, *yaml.Node) {
	return list(d, p, "steps (- weight: 10)", func(st *CanaryStep) []field {
		return []field{
			{"weight", d.integer(&st.Weight, "a whole number from 1 to 100")},
			{"pause", d.pause(st)},
		}
	})
}

// volumes decodes the list of volumes.
func (d *decoder) volumes(p *[]Volume) func(string, *yaml.Node) {
	return list(d, p, "volumes (- name: data)", func(v *Volume) []field {
		return []field{
			{"name", d.str(&v.Name)},
			{"path", d.str(&v.Path)},
			{"size", d.str(&v.Size)},
		}
	})
}

// list decodes a list of mappings into *p, each item's keys given by
// fields; what names the items in "must be a list of WHAT".
func list[T any](d *decoder, p *[]T, what string, fields func(*T) []field) func(string, *yaml.Node) {
	return func(path string, n *yaml.Node) {
		n = resolve(n)
		if isNull(n) {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, "must be a list of %s, got %s", what, describe(n))
			return
		}
		items := make([]T, len(n.Content))
		for i, item := range n.Content {
			itemPath := fmt.Sprintf("%s[%d]", path, i)
			d.lines[itemPath] = item.Line
			d.mapping(itemPath, item, fields(&items[i]))
		}
		*p = items
	}
}

// resolve follows an alias (*anchor) to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node holds, for "got ..." in messages.
func describe(n *yaml.Node) string {
	n = resolve(n)
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case isNull(n):
		return "nothing"
	default:
		return strconv.Quote(n.Value)
	}
}

func known(fields []field) string {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return strings.Join(keys, ", ")
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
