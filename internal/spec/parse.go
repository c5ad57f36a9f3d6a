package spec

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Parse reads a nonstop.yaml strictly: unknown or repeated keys and values
// of the wrong type are errors, each naming its key and line, all joined
// with errors.Join. An empty file is an empty spec.
//
// Parse neither applies defaults nor validates: Load does both, and so
// must a caller of Parse, with ApplyDefaults then Validate.
func Parse(data []byte) (*Spec, error) {
	s := &Spec{lines: make(map[string]int)}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return s, nil
	} else if err != nil {
		return nil, syntaxError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Error{File: FileName, Line: extra.Line, Msg: "a second YAML document: nonstop.yaml holds one (remove the ---)"}
	} else if !errors.Is(err, io.EOF) {
		return nil, syntaxError(err)
	}
	if len(doc.Content) == 0 {
		return s, nil
	}
	d := &decoder{lines: s.lines}
	d.mapping("", doc.Content[0], d.specFields(s))
	if err := errors.Join(d.errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// The schema of nonstop.yaml: which keys each mapping accepts, in the
// order the known keys are listed in messages.

func (d *decoder) specFields(s *Spec) []field {
	return []field{
		{"name", d.str(&s.Name)},
		{"runtime", d.str((*string)(&s.Runtime))},
		{"build", d.str(&s.Build)},
		{"build_labels", d.strings(&s.BuildLabels)},
		{"run", d.str(&s.Run)},
		{"static", d.str(&s.Static)},
		{"release", d.str(&s.Release)},
		{"release_hold", d.duration(&s.ReleaseHold)},
		{"port", d.integer(&s.Port, "a whole number from 0 to 65535")},
		{"instances", d.integer(&s.Instances, "a whole number >= 1")},
		{"health", d.object(d.healthFields(&s.Health))},
		{"deploy", d.object(d.deployFields(&s.Deploy))},
		{"env", d.env(&s.Env)},
		{"volumes", d.volumes(&s.Volumes)},
		{"resources", d.object([]field{
			{"requests", d.object(d.quantityFields(&s.Resources.Requests))},
			{"limits", d.object(d.quantityFields(&s.Resources.Limits))},
		})},
		{"kubernetes", d.object(d.kubernetesFields(&s.Kubernetes))},
	}
}

func (d *decoder) quantityFields(q *Quantities) []field {
	return []field{{"cpu", d.str(&q.CPU)}, {"memory", d.str(&q.Memory)}}
}

func (d *decoder) kubernetesFields(k *Kubernetes) []field {
	return []field{
		{"namespace", d.str(&k.Namespace)},
		{"service", d.object([]field{
			{"type", d.str(&k.Service.Type)},
			{"node_port", d.integer(&k.Service.NodePort, "a whole number from 30000 to 32767")},
		})},
		{"gateway", func(path string, n *yaml.Node) {
			k.Gateway = &Gateway{}
			d.mapping(path, n, []field{
				{"name", d.str(&k.Gateway.Name)},
				{"namespace", d.str(&k.Gateway.Namespace)},
				{"hostnames", d.strings(&k.Gateway.Hostnames)},
			})
		}},
		{"min_ready", d.duration(&k.MinReady)},
		{"pre_stop", d.duration(&k.PreStop)},
		{"labels", d.env(&k.Labels)},
		{"storage_class", d.str(&k.StorageClass)},
	}
}

func (d *decoder) healthFields(h *Health) []field {
	return []field{
		{"path", d.str(&h.Path)},
		{"interval", d.duration(&h.Interval)},
		{"timeout", d.duration(&h.Timeout)},
		{"start_timeout", d.duration(&h.StartTimeout)},
		{"healthy_threshold", d.integer(&h.HealthyThreshold, "a whole number >= 1")},
		{"unhealthy_threshold", d.integer(&h.UnhealthyThreshold, "a whole number >= 1")},
	}
}

func (d *decoder) deployFields(dep *Deploy) []field {
	return []field{
		{"strategy", d.str((*string)(&dep.Strategy))},
		{"max_surge", d.integer(&dep.MaxSurge, "a whole number >= 0")},
		{"max_unavailable", d.integer(&dep.MaxUnavailable, "a whole number >= 0")},
		{"drain_timeout", d.duration(&dep.DrainTimeout)},
		{"stop_timeout", d.duration(&dep.StopTimeout)},
		{"bake", d.duration(&dep.Bake)},
		{"analysis", d.object(d.analysisFields(&dep.Analysis))},
		{"canary", func(path string, n *yaml.Node) {
			dep.Canary = &Canary{}
			d.mapping(path, n, d.canaryFields(dep.Canary))
		}},
		{"bluegreen", func(path string, n *yaml.Node) {
			dep.BlueGreen = &BlueGreen{}
			d.mapping(path, n, []field{
				{"auto_promote_after", d.duration(&dep.BlueGreen.AutoPromoteAfter)},
				{"keep_old_for", d.duration(&dep.BlueGreen.KeepOldFor)},
			})
		}},
	}
}

func (d *decoder) analysisFields(a *Analysis) []field {
	return []field{
		{"interval", d.duration(&a.Interval)},
		{"min_requests", d.integer(&a.MinRequests, "a whole number >= 0")},
		{"max_error_rate", d.number(&a.MaxErrorRate, "a number from 0 to 1, e.g. 0.05")},
		{"max_p99_latency", d.duration(&a.MaxP99Latency)},
		{"on_inconclusive", d.str((*string)(&a.OnInconclusive))},
	}
}

func (d *decoder) canaryFields(c *Canary) []field {
	return []field{
		{"steps", d.steps(&c.Steps)},
		{"analysis", d.object(d.analysisFields(&c.Analysis))},
	}
}

// syntaxError turns yaml.v3's "yaml: line 3: did not find expected key"
// into an Error on line 3. yaml.v3 gives the line only in its text.
func syntaxError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, after, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, after
			}
		}
	}
	return &Error{File: FileName, Line: line, Msg: "invalid YAML: " + msg}
}
