// Package monitoring holds no code: its test checks the alert rules in this directory against
// docs/metrics.md (every metric, label and label value they select is documented) and
// docs/operations.md (every alert's runbook_url names a section that exists).
package monitoring

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

const runbookPrefix = "https://github.com/flink-operator/flink-operator/blob/main/docs/operations.md#"

type rule struct {
	Alert       string            `json:"alert"`
	Record      string            `json:"record"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

type prometheusRule struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []rule `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

func loadRules(t *testing.T) []rule {
	t.Helper()
	data, err := os.ReadFile("prometheusrule.yaml")
	require.NoError(t, err)
	var pr prometheusRule
	require.NoError(t, yaml.UnmarshalStrict(data, &pr))
	require.Equal(t, "monitoring.coreos.com/v1", pr.APIVersion)
	require.Equal(t, "PrometheusRule", pr.Kind)
	var rules []rule
	for _, g := range pr.Spec.Groups {
		require.NotEmpty(t, g.Name)
		rules = append(rules, g.Rules...)
	}
	require.NotEmpty(t, rules)
	return rules
}

// documentedMetric is one row of a table in docs/metrics.md.
type documentedMetric struct {
	typ    string
	labels map[string]bool
	row    string // the whole row, where the label values are listed
}

var metricRow = regexp.MustCompile("^\\| `([a-z_:][a-z0-9_:]*)` \\|")

// documentedMetrics reads every metric family from the tables of docs/metrics.md.
func documentedMetrics(t *testing.T) map[string]documentedMetric {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "metrics.md"))
	require.NoError(t, err)
	out := map[string]documentedMetric{}
	var header []string
	sectionLabels := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "## "):
			header, sectionLabels = nil, map[string]bool{}
		case strings.HasPrefix(line, "All labelled `"):
			// "All labelled `name="flinkcluster"`."
			l, _, _ := strings.Cut(strings.TrimPrefix(line, "All labelled `"), "=")
			sectionLabels[l] = true
		case strings.HasPrefix(line, "| name |"):
			header = cells(line)
		}
		m := metricRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		row := cells(line)
		dm := documentedMetric{labels: map[string]bool{}, row: line}
		for k := range sectionLabels {
			dm.labels[k] = true
		}
		for i, h := range header {
			if i >= len(row) {
				break
			}
			switch h {
			case "type":
				dm.typ = row[i]
			case "labels":
				for _, l := range strings.Split(row[i], ",") {
					if l = strings.TrimSpace(l); l != "" {
						dm.labels[l] = true
					}
				}
			}
		}
		out[m[1]] = dm
	}
	require.NotEmpty(t, out, "no metric tables found in docs/metrics.md")
	return out
}

func cells(line string) []string {
	parts := strings.Split(strings.Trim(line, "|"), "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// Metrics Prometheus makes itself, not the operator.
var prometheusMetrics = map[string]bool{"up": true}

// Target labels Prometheus adds to every scraped series (job from the PodMonitor).
var targetLabels = map[string]bool{"job": true, "instance": true, "pod": true}

// TestAlertsUseOnlyDocumentedMetrics: a renamed or undocumented metric, label or label value in
// an alert would silently never fire.
func TestAlertsUseOnlyDocumentedMetrics(t *testing.T) {
	docs := documentedMetrics(t)
	for _, r := range loadRules(t) {
		checkExpr(t, docs, r.Alert, r.Expr)
	}
}

// checkExpr checks that expr (of the alert or panel named where) selects only documented
// metrics, labels and label values, and returns the families it selects.
func checkExpr(t *testing.T, docs map[string]documentedMetric, where, expr string) []string {
	t.Helper()
	sels, err := selectors(expr)
	require.NoError(t, err, "%s: %s", where, expr)
	require.NotEmpty(t, sels, "%s selects no metric", where)
	var families []string
	for _, sel := range sels {
		if prometheusMetrics[sel.metric] {
			continue
		}
		family, dm, ok := lookup(docs, sel.metric)
		if !assert.True(t, ok, "%s uses %s, which docs/metrics.md does not document", where, sel.metric) {
			continue
		}
		families = append(families, family)
		for _, m := range sel.matchers {
			if targetLabels[m.label] || (m.label == "le" && sel.metric == family+"_bucket") {
				continue
			}
			if !assert.True(t, dm.labels[m.label], "%s: %s has no documented label %q", where, family, m.label) {
				continue
			}
			if m.label == "namespace" || m.label == "name" {
				continue
			}
			for _, v := range strings.Split(m.value, "|") {
				assert.Regexp(t, `\b`+regexp.QuoteMeta(v)+`\b`, dm.row,
					"%s: value %q of label %s is not among those docs/metrics.md lists for %s", where, v, m.label, family)
			}
		}
	}
	return families
}

// lookup finds the documented family of a series name (a histogram's _bucket, _sum and _count
// belong to it).
func lookup(docs map[string]documentedMetric, name string) (string, documentedMetric, bool) {
	if dm, ok := docs[name]; ok {
		return name, dm, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base := strings.TrimSuffix(name, suffix)
		if dm, ok := docs[base]; ok && base != name && (dm.typ == "histogram" || dm.typ == "summary") {
			return base, dm, true
		}
	}
	return "", documentedMetric{}, false
}

// TestAlertsLinkTheirRunbookSection: every alert's runbook_url names a heading of
// docs/operations.md, and the rest of its metadata is there.
func TestAlertsLinkTheirRunbookSection(t *testing.T) {
	anchors := headingAnchors(t, filepath.Join("..", "..", "docs", "operations.md"))
	seen := map[string]bool{}
	for _, r := range loadRules(t) {
		require.NotEmpty(t, r.Alert, "a rule without alert: %+v", r)
		assert.False(t, seen[r.Alert], "alert %s defined twice", r.Alert)
		seen[r.Alert] = true
		assert.Contains(t, []string{"critical", "warning"}, r.Labels["severity"], "%s: severity", r.Alert)
		assert.NotEmpty(t, r.Annotations["summary"], "%s: summary", r.Alert)
		assert.NotEmpty(t, r.Annotations["description"], "%s: description", r.Alert)
		if r.For != "" {
			assert.Regexp(t, `^[0-9]+[smhd]$`, r.For, "%s: for", r.Alert)
		}
		url := r.Annotations["runbook_url"]
		if !assert.True(t, strings.HasPrefix(url, runbookPrefix), "%s: runbook_url %q must point into docs/operations.md", r.Alert, url) {
			continue
		}
		anchor := strings.TrimPrefix(url, runbookPrefix)
		assert.True(t, anchors[anchor], "%s: docs/operations.md has no section #%s", r.Alert, anchor)
	}
}

// TestOperationsDocLinksResolve: the in-page links of docs/operations.md lead somewhere.
func TestOperationsDocLinksResolve(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "operations.md")
	anchors := headingAnchors(t, path)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, m := range regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(string(data), -1) {
		assert.True(t, anchors[m[1]], "docs/operations.md links #%s, which is no heading", m[1])
	}
	for _, m := range regexp.MustCompile(`\]\(([a-z-]+\.md)\)`).FindAllStringSubmatch(string(data), -1) {
		_, err := os.Stat(filepath.Join("..", "..", "docs", m[1]))
		assert.NoError(t, err, "docs/operations.md links %s", m[1])
	}
}

// TestMonitoringIsNotPartOfDeploy: deploy/ must apply on clusters without the Prometheus
// Operator's CRDs, and deploy/monitoring/ must apply on its own.
func TestMonitoringIsNotPartOfDeploy(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "kustomization.yaml"))
	require.NoError(t, err)
	assert.NotContains(t, string(data), "monitoring")

	var k struct {
		Resources []string `json:"resources"`
	}
	data, err = os.ReadFile("kustomization.yaml")
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(data, &k))
	assert.ElementsMatch(t, []string{"podmonitor.yaml", "prometheusrule.yaml"}, k.Resources)
	assert.NotContains(t, k.Resources, "grafana-dashboard.json", "a ConfigMap generated from it, not a resource")
	for _, r := range k.Resources {
		_, err := os.Stat(r)
		assert.NoError(t, err)
	}
}

// headingAnchors returns the GitHub anchors of a Markdown file's headings.
func headingAnchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	out := map[string]bool{}
	inCode := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if inCode || !strings.HasPrefix(line, "#") {
			continue
		}
		out[slug(strings.TrimLeft(line, "# "))] = true
	}
	return out
}

// slug is GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

func TestSlug(t *testing.T) {
	assert.Equal(t, "upgrading-the-operator-and-the-crd", slug("Upgrading the operator and the CRD"))
	assert.Equal(t, "job-not-running", slug("Job not running"))
	assert.Equal(t, "whats-new-v2", slug("What's new: v2"))
}

// A selector is a metric name and its label matchers, as written in an expression.
type selector struct {
	metric   string
	matchers []matcher
}

type matcher struct {
	label, op, value string
}

// PromQL words that are not metric names.
var (
	keywords     = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true}
	groupings    = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}
	aggregations = map[string]bool{"sum": true, "min": true, "max": true, "avg": true, "count": true, "stddev": true,
		"stdvar": true, "topk": true, "bottomk": true, "quantile": true, "count_values": true, "group": true}
	functions = map[string]bool{"rate": true, "irate": true, "increase": true, "delta": true, "idelta": true, "deriv": true,
		"histogram_quantile": true, "time": true, "absent": true, "absent_over_time": true, "changes": true, "resets": true,
		"last_over_time": true, "max_over_time": true, "min_over_time": true, "avg_over_time": true, "sum_over_time": true,
		"count_over_time": true, "clamp_min": true, "clamp_max": true, "abs": true, "vector": true, "scalar": true,
		"label_replace": true, "timestamp": true, "predict_linear": true}
)

// selectors extracts the series selectors of a PromQL expression with a small lexer: enough to
// find every metric name and label matcher, and to reject an unknown function or an unbalanced
// expression.
func selectors(expr string) ([]selector, error) {
	var out []selector
	depth := 0
	i := 0
	isIdentStart := func(c byte) bool { return c == '_' || c == ':' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
	isIdent := func(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }
	skipSpace := func() {
		for i < len(expr) && strings.ContainsRune(" \t\r\n", rune(expr[i])) {
			i++
		}
	}
	readString := func() (string, error) {
		q := expr[i]
		j := i + 1
		var b strings.Builder
		for j < len(expr) && expr[j] != q {
			if expr[j] == '\\' && q != '`' && j+1 < len(expr) {
				j++
			}
			b.WriteByte(expr[j])
			j++
		}
		if j >= len(expr) {
			return "", fmt.Errorf("unterminated string at %d", i)
		}
		i = j + 1
		return b.String(), nil
	}
	readIdent := func() string {
		j := i
		for i < len(expr) && isIdent(expr[i]) {
			i++
		}
		return expr[j:i]
	}
	readMatchers := func() ([]matcher, error) {
		i++ // {
		var ms []matcher
		for {
			skipSpace()
			if i < len(expr) && expr[i] == '}' {
				i++
				return ms, nil
			}
			if i >= len(expr) || !isIdentStart(expr[i]) {
				return nil, fmt.Errorf("bad label matcher at %d", i)
			}
			label := readIdent()
			skipSpace()
			var op string
			for _, o := range []string{"=~", "!~", "!=", "="} {
				if strings.HasPrefix(expr[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				return nil, fmt.Errorf("bad matcher operator at %d", i)
			}
			i += len(op)
			skipSpace()
			if i >= len(expr) || !strings.ContainsRune(`"'`+"`", rune(expr[i])) {
				return nil, fmt.Errorf("matcher value must be a string at %d", i)
			}
			v, err := readString()
			if err != nil {
				return nil, err
			}
			ms = append(ms, matcher{label, op, v})
			skipSpace()
			if i < len(expr) && expr[i] == ',' {
				i++
			}
		}
	}
	for {
		skipSpace()
		if i >= len(expr) {
			break
		}
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			if _, err := readString(); err != nil {
				return nil, err
			}
		case c == '[':
			j := strings.IndexByte(expr[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("unterminated range at %d", i)
			}
			if !regexp.MustCompile(`^\[[0-9]+[smhdwy](:[0-9]+[smhdwy])?\]$`).MatchString(expr[i : i+j+1]) {
				return nil, fmt.Errorf("bad range %s", expr[i:i+j+1])
			}
			i += j + 1
		case c == '{':
			if _, err := readMatchers(); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("a selector without a metric name at %d", i)
		case c == '(':
			depth++
			i++
		case c == ')':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("unbalanced ) at %d", i)
			}
			i++
		case c >= '0' && c <= '9' || c == '.':
			for i < len(expr) && (isIdent(expr[i]) || expr[i] == '.') {
				i++
			}
		case isIdentStart(c):
			word := readIdent()
			skipSpace()
			next := byte(0)
			if i < len(expr) {
				next = expr[i]
			}
			switch {
			case keywords[word]:
				if word == "offset" {
					readIdent()
				}
			case groupings[word]:
				if next == '(' {
					j := strings.IndexByte(expr[i:], ')')
					if j < 0 {
						return nil, fmt.Errorf("unterminated label list at %d", i)
					}
					i += j + 1
				}
			case aggregations[word] || functions[word]:
				if next != '(' && !(aggregations[word] && (strings.HasPrefix(expr[i:], "by") || strings.HasPrefix(expr[i:], "without"))) {
					return nil, fmt.Errorf("%s must be called", word)
				}
			case next == '(':
				return nil, fmt.Errorf("unknown function %s", word)
			default:
				sel := selector{metric: word}
				if next == '{' {
					ms, err := readMatchers()
					if err != nil {
						return nil, err
					}
					sel.matchers = ms
				}
				out = append(out, sel)
			}
		case strings.ContainsRune("+-*/%^=!<>,", rune(c)):
			i++
		default:
			return nil, fmt.Errorf("unexpected %q at %d", c, i)
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced parentheses")
	}
	return out, nil
}

func TestSelectors(t *testing.T) {
	sels, err := selectors(`histogram_quantile(0.99, sum by (le) (rate(workqueue_queue_duration_seconds_bucket{job="x", name=~"a|b"}[5m]))) > 30
	  and on () increase((max by (namespace, name) (flinkcluster_job_restarts))[1h:1m]) >= 3 unless absent(up{job='y'} == 1) offset 5m`)
	require.NoError(t, err)
	require.Len(t, sels, 3)
	assert.Equal(t, "workqueue_queue_duration_seconds_bucket", sels[0].metric)
	assert.Equal(t, []matcher{{"job", "=", "x"}, {"name", "=~", "a|b"}}, sels[0].matchers)
	assert.Equal(t, "flinkcluster_job_restarts", sels[1].metric)
	assert.Equal(t, selector{metric: "up", matchers: []matcher{{"job", "=", "y"}}}, sels[2])

	for _, bad := range []string{`rat(x[5m])`, `sum(x`, `x{a="b"`, `x[5]`, `{a="b"}`, `x{a=b}`} {
		_, err := selectors(bad)
		assert.Error(t, err, bad)
	}
}
