package spec

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

// quantityRE matches the resource quantities Kubernetes accepts that an
// app spec needs: a decimal number with an optional SI or binary suffix.
var quantityRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$`)

// dnsLabelRE is a Kubernetes object name part (RFC 1123 label).
var dnsLabelRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

func (v *validator) volumes() {
	seenName, seenPath := map[string]int{}, map[string]int{}
	for i, vol := range v.s.Volumes {
		key := fmt.Sprintf("volumes[%d]", i)
		switch {
		case vol.Name == "":
			v.fail(key+".name", "required: a name such as data")
		case !dnsLabelRE.MatchString(vol.Name) || len(vol.Name) > 40:
			v.fail(key+".name", "%q: want lower-case letters, digits and '-', up to 40", vol.Name)
		default:
			if j, dup := seenName[vol.Name]; dup {
				v.fail(key+".name", "%q is also volumes[%d]'s name", vol.Name, j)
			}
			seenName[vol.Name] = i
		}
		switch {
		case vol.Path == "" || vol.Path[0] != '/':
			v.fail(key+".path", "must be an absolute path such as /data, got %q", vol.Path)
		case path.Clean(vol.Path) == "/":
			v.fail(key+".path", "cannot be /")
		default:
			if j, dup := seenPath[path.Clean(vol.Path)]; dup {
				v.fail(key+".path", "%q is also volumes[%d]'s path", vol.Path, j)
			}
			seenPath[path.Clean(vol.Path)] = i
		}
		if !quantityRE.MatchString(vol.Size) {
			v.fail(key+".size", "%q: want a size such as 1Gi or 500Mi", vol.Size)
		}
	}
}

func (v *validator) resources() {
	for _, q := range []struct {
		key string
		val string
	}{
		{"resources.requests.cpu", v.s.Resources.Requests.CPU},
		{"resources.requests.memory", v.s.Resources.Requests.Memory},
		{"resources.limits.cpu", v.s.Resources.Limits.CPU},
		{"resources.limits.memory", v.s.Resources.Limits.Memory},
	} {
		if q.val != "" && !quantityRE.MatchString(q.val) {
			v.fail(q.key, "%q: want a quantity such as 500m or 2 (cpu), 256Mi or 1Gi (memory)", q.val)
		}
	}
}

func (v *validator) kubernetes() {
	k := v.s.Kubernetes
	if k.Namespace != "" && !dnsLabelRE.MatchString(k.Namespace) {
		v.fail("kubernetes.namespace", "%q: want lower-case letters, digits and '-', up to 63", k.Namespace)
	}
	switch k.Service.Type {
	case ServiceClusterIP:
		if k.Service.NodePort != 0 {
			v.fail("kubernetes.service.node_port", "needs service type NodePort or LoadBalancer, not ClusterIP")
		}
	case ServiceNodePort, ServiceLoadBalancer:
		if p := k.Service.NodePort; p != 0 && (p < 30000 || p > 32767) {
			v.fail("kubernetes.service.node_port", "must be from 30000 to 32767 (the cluster's node port range), got %d", p)
		}
	default:
		v.fail("kubernetes.service.type", "unknown service type %q (use ClusterIP, NodePort or LoadBalancer)", k.Service.Type)
	}
	if g := k.Gateway; g != nil {
		if !dnsLabelRE.MatchString(g.Name) {
			v.fail("kubernetes.gateway.name", "%q: want the name of a Gateway (lower-case letters, digits, '-')", g.Name)
		}
		if g.Namespace != "" && !dnsLabelRE.MatchString(g.Namespace) {
			v.fail("kubernetes.gateway.namespace", "%q: want lower-case letters, digits and '-'", g.Namespace)
		}
	}
	for _, key := range sortedKeys(k.Labels) {
		if !podLabelRE.MatchString(key) || !labelValueRE.MatchString(k.Labels[key]) {
			v.fail("kubernetes.labels."+key, "not a valid Kubernetes label (key: [prefix/]name, value: up to 63 letters, digits, '-', '_', '.')")
		}
		if strings.HasPrefix(key, "app.kubernetes.io/") || strings.HasPrefix(key, "nonstop.dev/") {
			v.fail("kubernetes.labels."+key, "reserved: nonstop sets the app.kubernetes.io/ and nonstop.dev/ labels itself")
		}
	}
	v.atLeastZero("kubernetes.min_ready", int64(k.MinReady), k.MinReady)
	v.atLeastZero("kubernetes.pre_stop", int64(k.PreStop), k.PreStop)
}

// podLabelRE is a label key: an optional DNS prefix and a name.
var podLabelRE = regexp.MustCompile(`^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`)

// labelValueRE is a label value (possibly empty).
var labelValueRE = regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$`)

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
