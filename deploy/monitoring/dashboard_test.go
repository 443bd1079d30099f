package monitoring

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

type dashboardPanel struct {
	ID      int              `json:"id"`
	Title   string           `json:"title"`
	Type    string           `json:"type"`
	Panels  []dashboardPanel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

func loadDashboard(t *testing.T) []dashboardPanel {
	t.Helper()
	data, err := os.ReadFile("grafana-dashboard.json")
	require.NoError(t, err)
	var d struct {
		UID    string           `json:"uid"`
		Panels []dashboardPanel `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(data, &d))
	require.NotEmpty(t, d.UID)
	var flat []dashboardPanel
	var walk func([]dashboardPanel)
	walk = func(ps []dashboardPanel) {
		for _, p := range ps {
			flat = append(flat, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return flat
}

// grafanaVariables are the dashboard's variables, replaced by what Prometheus would get.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$namespace", ".*")

// TestDashboardUsesOnlyDocumentedMetrics: every query of the Grafana dashboard selects only
// metrics, labels and label values docs/metrics.md documents (and the integration suite checks
// the operator exports every documented family: TestMetricsAfterALifecycle), and the dashboard
// shows what an operator of the fleet looks at first.
func TestDashboardUsesOnlyDocumentedMetrics(t *testing.T) {
	docs := documentedMetrics(t)
	shown := map[string]bool{}
	ids := map[int]bool{}
	for _, p := range loadDashboard(t) {
		assert.False(t, ids[p.ID], "panel id %d twice", p.ID)
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		for _, target := range p.Targets {
			for _, f := range checkExpr(t, docs, "panel "+p.Title, grafanaVariables.Replace(target.Expr)) {
				shown[f] = true
			}
		}
	}
	for _, f := range []string{
		"flinkcluster_state",     // clusters by state
		"flinkcluster_job_state", // job states
		"flinkcluster_job_last_successful_savepoint_timestamp_seconds", // savepoint age per cluster
		"flinkcluster_job_restarts",                                    // restarts
		"flinkoperator_flink_rest_requests_total",                      // REST errors
		"flinkoperator_sync_duration_seconds",                          // sync latency
		"workqueue_depth",                                              // workqueue depth
	} {
		assert.True(t, shown[f], "the dashboard shows %s", f)
	}
}

// TestDashboardIsGeneratedAsAConfigMap: kustomize makes the ConfigMap Grafana's sidecar loads.
func TestDashboardIsGeneratedAsAConfigMap(t *testing.T) {
	var k struct {
		ConfigMapGenerator []struct {
			Name    string   `json:"name"`
			Files   []string `json:"files"`
			Options struct {
				DisableNameSuffixHash bool              `json:"disableNameSuffixHash"`
				Labels                map[string]string `json:"labels"`
			} `json:"options"`
		} `json:"configMapGenerator"`
	}
	data, err := os.ReadFile("kustomization.yaml")
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(data, &k))
	require.Len(t, k.ConfigMapGenerator, 1)
	g := k.ConfigMapGenerator[0]
	assert.Equal(t, []string{"grafana-dashboard.json"}, g.Files)
	assert.True(t, g.Options.DisableNameSuffixHash)
	assert.Equal(t, "1", g.Options.Labels["grafana_dashboard"])
}
