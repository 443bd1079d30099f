package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
)

func TestEndpointTemplate(t *testing.T) {
	id := "0123456789abcdef0123456789abcdef"
	tests := map[string]string{
		"/jobs/" + id:                                  "/jobs/:id",
		"/jobs/" + id + "/savepoints/" + id:            "/jobs/:id/savepoints/:id",
		"/clusters/ns/name/jobs/" + id + "/exceptions": "/jobs/:id/exceptions",
		"/overview":                 "/overview",
		"/savepoint-disposal/" + id: "/savepoint-disposal/:id",
		"/something/else":           "other",
		"/proxy/jobs/not-an-id":     "/jobs/not-an-id",
		"/clusters/jobs/ns/jobs/" + id + "/checkpoints": "/jobs/ns/jobs/:id/checkpoints",
	}
	for path, want := range tests {
		assert.Equal(t, want, EndpointTemplate(path), path)
	}
}

func TestClusterSeriesAndForget(t *testing.T) {
	end := metav1.NewTime(time.Unix(1700000000, 0))
	st := v1beta1.FlinkClusterStatus{State: v1beta1.ClusterStateRunning, Components: v1beta1.FlinkClusterComponentsStatus{
		Job: &v1beta1.JobStatus{State: v1beta1.JobStateRunning, RestartCount: 2, SavepointHistory: []v1beta1.SavepointOperation{
			{State: v1beta1.SavepointStateFailed, EndTime: &metav1.Time{Time: end.Add(time.Minute)}},
			{State: v1beta1.SavepointStateSucceeded, EndTime: &end},
		}},
	}}
	st.Conditions = []metav1.Condition{{Type: "JobHealthy", Status: metav1.ConditionFalse, Reason: "RestartLoop"}}
	ObserveCluster("ns", "c", st)
	ObserveCluster("ns", "session", v1beta1.FlinkClusterStatus{State: v1beta1.ClusterStateCreating})
	c := map[string]string{"namespace": "ns", "name": "c"}
	assert.Equal(t, 1.0, gathered(t, "flinkcluster_state", c, "state", "Running"))
	assert.Len(t, series(t, "flinkcluster_state", c), 1, "only the current cluster state by default")
	assert.Len(t, series(t, "flinkcluster_job_state", c), 1, "only the current job state by default")
	assert.ElementsMatch(t, fsm.States, jobStates, "every state of the machine has its series")
	assert.Equal(t, 1.0, gathered(t, "flinkcluster_job_state", c, "state", "Running"))
	t.Run("--metrics-all-states", func(t *testing.T) {
		SetAllStateSeries(true)
		defer SetAllStateSeries(false)
		assert.Len(t, series(t, "flinkcluster_state", c), 7, "one series per cluster state")
		assert.Equal(t, 0.0, gathered(t, "flinkcluster_state", c, "state", "Creating"))
		assert.Equal(t, 1.0, gathered(t, "flinkcluster_state", c, "state", "Running"))
		assert.Len(t, series(t, "flinkcluster_job_state", c), len(fsm.States), "one series per job state")
		assert.Equal(t, 0.0, gathered(t, "flinkcluster_job_state", c, "state", "Failed"))
	})
	assert.Equal(t, 2.0, gathered(t, "flinkcluster_job_restarts", c))
	assert.Equal(t, 0.0, gathered(t, "flinkcluster_job_healthy", c), "JobHealthy False")
	assert.Empty(t, series(t, "flinkcluster_job_healthy", map[string]string{"namespace": "ns", "name": "session"}), "absent without the condition")
	assert.Equal(t, 1700000000.0, gathered(t, "flinkcluster_job_last_successful_savepoint_timestamp_seconds", c), "the last successful one, not the newer failure")
	session := map[string]string{"namespace": "ns", "name": "session"}
	assert.Equal(t, 1.0, gathered(t, "flinkcluster_state", session, "state", "Creating"))
	assert.Empty(t, series(t, "flinkcluster_job_state", session), "a session cluster has no job series")

	st.Components.Job.SavepointHistory = st.Components.Job.SavepointHistory[:1]
	ObserveCluster("ns", "c", st)
	assert.Equal(t, 1700000000.0, gathered(t, "flinkcluster_job_last_successful_savepoint_timestamp_seconds", c),
		"kept when failures pushed the success out of the bounded history")

	SavepointEnded("ns", "c", v1beta1.SavepointOperation{Reason: v1beta1.SavepointReasonScheduled, State: v1beta1.SavepointStateSucceeded})
	assert.Equal(t, 1.0, testutil.ToFloat64(savepoints.WithLabelValues("ns", "c", "Scheduled", "Succeeded")))
	DisposalEnded("ns", "c", v1beta1.DisposalStateDisposed)
	assert.Equal(t, 1.0, testutil.ToFloat64(disposals.WithLabelValues("ns", "c", "Disposed")))

	ForgetCluster("ns", "c")
	ForgetCluster("ns", "session")
	for _, name := range []string{"flinkcluster_state", "flinkcluster_job_state", "flinkcluster_job_restarts", "flinkcluster_job_healthy",
		"flinkcluster_job_last_successful_savepoint_timestamp_seconds", "flinkcluster_savepoints_total", "flinkcluster_savepoint_disposals_total"} {
		assert.Empty(t, series(t, name, nil), "a deleted cluster leaves no %s series behind", name)
	}
}

// series returns the samples of the family name in Registry whose labels include match.
func series(t *testing.T, name string, match map[string]string) []*dto.Metric {
	t.Helper()
	families, err := Registry.Gather()
	require.NoError(t, err)
	var out []*dto.Metric
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if hasLabels(m, match) {
				out = append(out, m)
			}
		}
	}
	return out
}

// gathered is the value of the one gauge of family name with labels match plus the extra pairs.
func gathered(t *testing.T, name string, match map[string]string, extra ...string) float64 {
	t.Helper()
	labels := map[string]string{}
	for k, v := range match {
		labels[k] = v
	}
	for i := 0; i+1 < len(extra); i += 2 {
		labels[extra[i]] = extra[i+1]
	}
	found := series(t, name, labels)
	require.Len(t, found, 1, "%s%v", name, labels)
	return found[0].GetGauge().GetValue()
}

func hasLabels(m *dto.Metric, match map[string]string) bool {
	have := map[string]string{}
	for _, l := range m.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for k, v := range match {
		if have[k] != v {
			return false
		}
	}
	return true
}

func TestFlinkTransportIsInstrumented(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/overview") {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusNotFound)
	}))
	defer srv.Close()
	client := &http.Client{Transport: InstrumentFlinkTransport(http.DefaultTransport)}
	for _, p := range []string{"/overview", "/jobs/0123456789abcdef0123456789abcdef"} {
		resp, err := client.Get(srv.URL + "/clusters/ns/c" + p)
		require.NoError(t, err)
		resp.Body.Close()
	}
	assert.Equal(t, 1.0, testutil.ToFloat64(flinkRequests.WithLabelValues("GET /overview", "2xx")))
	assert.Equal(t, 1.0, testutil.ToFloat64(flinkRequests.WithLabelValues("GET /jobs/:id", "4xx")))
	_, err := (&http.Client{Transport: InstrumentFlinkTransport(http.DefaultTransport)}).Get("http://127.0.0.1:1/overview")
	require.Error(t, err)
	assert.Equal(t, 1.0, testutil.ToFloat64(flinkRequests.WithLabelValues("GET /overview", "error")))
}

func TestHandlerServesEveryDocumentedFamily(t *testing.T) {
	ObserveCluster("ns", "x", v1beta1.FlinkClusterStatus{State: v1beta1.ClusterStateRunning})
	SyncDone(time.Millisecond, nil)
	APIWrite("Deployment", "create")
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	for _, name := range []string{"flinkcluster_state", "flinkoperator_sync_duration_seconds", "flinkoperator_api_writes_total", "go_goroutines", "process_resident_memory_bytes"} {
		assert.Contains(t, body, name)
	}
	ForgetCluster("ns", "x")
}

// closeCounter counts CloseIdleConnections.
type closeCounter struct {
	http.RoundTripper
	closed int
}

func (c *closeCounter) CloseIdleConnections() { c.closed++ }

// The REST client closes a replaced TLS pool's idle connections through http.Client, which asks
// the transport: the instrumentation must pass it on.
func TestFlinkTransportPassesCloseIdleConnections(t *testing.T) {
	below := &closeCounter{RoundTripper: http.DefaultTransport}
	(&http.Client{Transport: InstrumentFlinkTransport(below)}).CloseIdleConnections()
	assert.Equal(t, 1, below.closed)
}
