package metrics_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nonstopdev/nonstop/internal/metrics"
)

// exported lists the collector's metrics and their labels, from its
// descriptors (a histogram's series add le).
func exported(t *testing.T) map[string]map[string]bool {
	t.Helper()
	c := metrics.NewCollector(startProxy(t).px, testStore(t), metrics.Options{})
	ch := make(chan *prometheus.Desc, 64)
	c.Describe(ch)
	close(ch)
	name := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	labels := regexp.MustCompile(`variableLabels: \{([a-z_,]*)\}`)
	out := map[string]map[string]bool{}
	for d := range ch {
		s := d.String()
		n := name.FindStringSubmatch(s)
		if n == nil {
			t.Fatalf("descriptor %s: no name", s)
		}
		set := map[string]bool{}
		if l := labels.FindStringSubmatch(s); l != nil && l[1] != "" {
			for _, x := range strings.Split(l[1], ",") {
				set[x] = true
			}
		}
		out[n[1]] = set
		if strings.HasSuffix(n[1], "_seconds") { // a histogram
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				series := map[string]bool{"le": suffix == "_bucket"}
				for l := range set {
					series[l] = true
				}
				out[n[1]+suffix] = series
			}
		}
	}
	return out
}

// exprs collects every PromQL expression of a Grafana dashboard: panel
// targets and query variables.
func exprs(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && (k == "expr" || k == "definition") {
				*out = append(*out, s)
			}
			exprs(e, out)
		}
	case []any:
		for _, e := range x {
			exprs(e, out)
		}
	}
}

// The Grafana dashboard in docs/ queries only what nonstop exports: each
// metric it names exists, with every label it selects or groups by.
func TestGrafanaDashboard_QueriesOnlyExportedMetricsAndLabels(t *testing.T) {
	b, err := os.ReadFile("../../docs/grafana/nonstop.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash any
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("docs/grafana/nonstop.json: %v", err)
	}
	var all []string
	exprs(dash, &all)
	if len(all) < 15 {
		t.Fatalf("%d queries in the dashboard, want its panels' (15 or more)", len(all))
	}
	have := exported(t)
	metric := regexp.MustCompile(`nonstop_[a-z_]+`)
	selector := regexp.MustCompile(`(nonstop_[a-z_]+)\{([^}]*)\}`)
	matcher := regexp.MustCompile(`([a-z_]+)\s*(=~|!~|!=|=)`)
	grouping := regexp.MustCompile(`by \(([a-z_, ]+)\)`)
	used := map[string]bool{}
	for _, e := range all {
		names := metric.FindAllString(e, -1)
		for _, n := range names {
			used[n] = true
			if have[n] == nil {
				t.Errorf("%q queries %s, which nonstop does not export", e, n)
			}
		}
		for _, s := range selector.FindAllStringSubmatch(e, -1) {
			for _, m := range matcher.FindAllStringSubmatch(s[2], -1) {
				if have[s[1]] != nil && !have[s[1]][m[1]] {
					t.Errorf("%q selects %s by %s, a label it does not have", e, s[1], m[1])
				}
			}
		}
		// A grouping label must be one of the queried metrics'.
		for _, g := range grouping.FindAllStringSubmatch(e, -1) {
			for _, l := range strings.Split(g[1], ",") {
				l = strings.TrimSpace(l)
				ok := false
				for _, n := range names {
					ok = ok || have[n][l]
				}
				if !ok {
					t.Errorf("%q groups by %s, which none of %v has", e, l, names)
				}
			}
		}
	}
	// And it shows what the dashboard is for: traffic, rollouts, resources.
	for _, n := range []string{"nonstop_requests_total", "nonstop_request_duration_seconds_bucket", "nonstop_rollout_state", "nonstop_release_live", "nonstop_instance_cpu_seconds_total", "nonstop_instance_memory_bytes"} {
		if !used[n] {
			t.Errorf("the dashboard does not chart %s", n)
		}
	}
}
