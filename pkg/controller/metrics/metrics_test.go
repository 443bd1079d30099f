package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
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
	ObserveCluster("ns", "c", st)
	assert.Equal(t, 1.0, testutil.ToFloat64(clusterState.WithLabelValues("ns", "c", "Running")))
	assert.Equal(t, 0.0, testutil.ToFloat64(clusterState.WithLabelValues("ns", "c", "Creating")))
	assert.Equal(t, 1.0, testutil.ToFloat64(jobState.WithLabelValues("ns", "c", "Running")))
	assert.Equal(t, 2.0, testutil.ToFloat64(jobRestarts.WithLabelValues("ns", "c")))
	assert.Equal(t, 1700000000.0, testutil.ToFloat64(lastSavepoint.WithLabelValues("ns", "c")), "the last successful one, not the newer failure")
	SavepointEnded("ns", "c", v1beta1.SavepointOperation{Reason: v1beta1.SavepointReasonScheduled, State: v1beta1.SavepointStateSucceeded})
	assert.Equal(t, 1.0, testutil.ToFloat64(savepoints.WithLabelValues("ns", "c", "Scheduled", "Succeeded")))

	ForgetCluster("ns", "c")
	assert.Equal(t, 0, testutil.CollectAndCount(clusterState))
	assert.Equal(t, 0, testutil.CollectAndCount(jobState))
	assert.Equal(t, 0, testutil.CollectAndCount(jobRestarts))
	assert.Equal(t, 0, testutil.CollectAndCount(lastSavepoint))
	assert.Equal(t, 0, testutil.CollectAndCount(savepoints), "a deleted cluster leaves no series behind")
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
