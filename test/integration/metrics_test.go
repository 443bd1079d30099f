//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// scraped is one scrape of /metrics: the declared family types and every sample.
type scraped struct {
	types   map[string]string
	samples []sample
}

// scrape GETs http://addr/metrics, as `curl` would, and parses the text format.
func scrape(t *testing.T, addr string) *scraped {
	t.Helper()
	code, body := httpGet("http://" + addr + "/metrics")
	require.Equal(t, http.StatusOK, code, "GET /metrics: %s", body)
	s, err := parseMetrics(body)
	require.NoError(t, err)
	return s
}

func parseMetrics(text string) (*scraped, error) {
	s := &scraped{types: map[string]string{}}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "# TYPE ") {
			f := strings.Fields(line)
			if len(f) == 4 {
				s.types[f[2]] = f[3]
			}
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		smp, err := parseSample(line)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", line, err)
		}
		s.samples = append(s.samples, smp)
	}
	return s, nil
}

func parseSample(line string) (sample, error) {
	smp := sample{labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i < 0 {
		return smp, fmt.Errorf("no value")
	}
	smp.name, line = line[:i], line[i:]
	if strings.HasPrefix(line, "{") {
		line = line[1:]
		for {
			line = strings.TrimLeft(line, ", ")
			if strings.HasPrefix(line, "}") {
				line = line[1:]
				break
			}
			eq := strings.Index(line, `="`)
			if eq < 0 {
				return smp, fmt.Errorf("bad label")
			}
			key := line[:eq]
			line = line[eq+2:]
			var v strings.Builder
			j := 0
			for ; j < len(line) && line[j] != '"'; j++ {
				if line[j] == '\\' && j+1 < len(line) {
					j++
					if line[j] == 'n' {
						v.WriteByte('\n')
						continue
					}
				}
				v.WriteByte(line[j])
			}
			if j >= len(line) {
				return smp, fmt.Errorf("unterminated label value")
			}
			smp.labels[key] = v.String()
			line = line[j+1:]
		}
	}
	f := strings.Fields(line)
	if len(f) == 0 {
		return smp, fmt.Errorf("no value")
	}
	v, err := strconv.ParseFloat(f[0], 64)
	smp.value = v
	return smp, err
}

// series returns the samples of name whose labels include match.
func (s *scraped) series(name string, match map[string]string) []sample {
	var out []sample
	for _, smp := range s.samples {
		if smp.name != name {
			continue
		}
		ok := true
		for k, v := range match {
			ok = ok && smp.labels[k] == v
		}
		if ok {
			out = append(out, smp)
		}
	}
	return out
}

func (s *scraped) sum(name string, match map[string]string) float64 {
	total := 0.0
	for _, smp := range s.series(name, match) {
		total += smp.value
	}
	return total
}

// value is the value of the one series of name matching match.
func (s *scraped) value(t *testing.T, name string, match map[string]string) float64 {
	t.Helper()
	got := s.series(name, match)
	require.Len(t, got, 1, "series %s%v", name, match)
	return got[0].value
}

// hasNamespace reports whether any series carries the label namespace=ns.
func (s *scraped) hasNamespace(ns string) []string {
	var out []string
	for _, smp := range s.samples {
		if smp.labels["namespace"] == ns {
			out = append(out, smp.name)
		}
	}
	return out
}

// documentedFamilies reads the metric families and their types from docs/metrics.md.
func documentedFamilies(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(env.root, "docs", "metrics.md"))
	require.NoError(t, err)
	row := regexp.MustCompile("^\\| `([a-z_:][a-z0-9_:]*)` \\| ([a-z]+)")
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			out[m[1]] = m[2]
		}
	}
	require.NotEmpty(t, out)
	return out
}

// TestMetricsAfterALifecycle scrapes a running operator after a job cluster's life (running, two
// requested savepoints, the first disposed of by the savepoint retention): every family docs/metrics.md documents is served with its type, and the
// values are the cluster's; the Flink REST counts match what the simulated JobManager served.
// After the FlinkCluster is deleted its series are gone.
func TestMetricsAfterALifecycle(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	pauseSuiteOperator(t)
	// One namespace only, so that every count below is this cluster's.
	op := startOperatorProcess(t, "it-metrics", append(operatorArgs(env.kubeconfig), "--namespace="+ns)...)
	waitFor(t, 60*time.Second, "the operator to be ready", func() bool { code, _ := op.probe("/readyz"); return code == http.StatusOK })

	obj := fromYAML(t, savepointJobCluster)
	setPath(obj.Object, "spec.job.savepointRetention", map[string]interface{}{"maxCount": int64(1)})
	_, err := createStrict(ctx, ns, obj)
	require.NoError(t, err)
	waitJob(t, ns, "counter", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})
	// Two savepoints: the second makes the retention dispose of the first.
	takeSavepoint(t, ns, "counter", 1)
	takeSavepoint(t, ns, "counter", 2)
	job := waitJob(t, ns, "counter", 30*time.Second, "the first savepoint's disposal", func(j *v1beta1.JobStatus) bool {
		return disposalsSettled(j, 1)
	})
	require.NotEmpty(t, job.SavepointHistory)

	before := scrape(t, op.metrics)
	sim := simRequestCounts(t, ns, "counter")
	m := scrape(t, op.metrics)

	t.Run("every documented family is served", func(t *testing.T) {
		for name, typ := range documentedFamilies(t) {
			got, ok := m.types[name]
			if !assert.True(t, ok, "docs/metrics.md documents %s; /metrics does not serve it", name) {
				continue
			}
			assert.Equal(t, typ, got, "type of %s", name)
			if typ == "histogram" {
				assert.NotEmpty(t, m.series(name+"_count", nil), "%s has no series", name)
			} else {
				assert.NotEmpty(t, m.series(name, nil), "%s has no series", name)
			}
		}
		for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds"} {
			assert.NotEmpty(t, m.series(name, nil), name)
		}
	})

	cluster := map[string]string{"namespace": ns, "name": "counter"}
	with := func(k, v string) map[string]string {
		out := map[string]string{k: v}
		for a, b := range cluster {
			out[a] = b
		}
		return out
	}

	t.Run("per-cluster values", func(t *testing.T) {
		assert.Len(t, m.series("flinkcluster_state", cluster), 1, "only the current cluster state (no --metrics-all-states)")
		assert.Equal(t, 1.0, m.value(t, "flinkcluster_state", with("state", "Running")))
		assert.Equal(t, 1.0, m.sum("flinkcluster_state", cluster), "exactly one state is current")
		assert.Len(t, m.series("flinkcluster_job_state", cluster), 1, "only the current job state")
		assert.Equal(t, 1.0, m.value(t, "flinkcluster_job_state", with("state", "Running")))
		assert.Equal(t, 1.0, m.sum("flinkcluster_job_state", cluster))
		assert.Equal(t, 0.0, m.value(t, "flinkcluster_job_restarts", cluster))

		ts := m.value(t, "flinkcluster_job_last_successful_savepoint_timestamp_seconds", cluster)
		assert.Equal(t, float64(job.SavepointHistory[0].EndTime.Unix()), ts, "the status' last savepoint")
		assert.InDelta(t, float64(time.Now().Unix()), ts, 120, "recent")

		assert.Equal(t, 2.0, m.value(t, "flinkcluster_savepoints_total", with("reason", "User")))
		assert.Equal(t, 2.0, m.value(t, "flinkcluster_savepoints_total", map[string]string{"namespace": ns, "name": "counter", "reason": "User", "outcome": "Succeeded"}))
		assert.Equal(t, 2.0, m.sum("flinkcluster_savepoints_total", cluster), "no other savepoint ended")
		assert.Equal(t, 1.0, m.value(t, "flinkcluster_savepoint_disposals_total", with("outcome", "Disposed")))
		assert.Equal(t, 1.0, m.sum("flinkcluster_savepoint_disposals_total", cluster), "no other disposal ended")
	})

	t.Run("Flink REST calls match what the JobManager served", func(t *testing.T) {
		// The simulator was read between two scrapes: each endpoint's count lies between them.
		endpoints := map[string]bool{}
		for _, s := range m.series("flinkoperator_flink_rest_requests_total", nil) {
			endpoints[s.labels["endpoint"]] = true
		}
		for ep, n := range sim {
			endpoints[ep] = true
			lo := before.sum("flinkoperator_flink_rest_requests_total", map[string]string{"endpoint": ep})
			hi := m.sum("flinkoperator_flink_rest_requests_total", map[string]string{"endpoint": ep})
			assert.True(t, lo <= float64(n) && float64(n) <= hi, "%s: the simulator served %d, the operator counted %v..%v", ep, n, lo, hi)
		}
		for ep := range endpoints {
			_, ok := sim[ep]
			assert.True(t, ok, "the operator counted %s, which the simulator never served", ep)
			assert.Equal(t, m.sum("flinkoperator_flink_rest_requests_total", map[string]string{"endpoint": ep}),
				m.sum("flinkoperator_flink_rest_request_duration_seconds_count", map[string]string{"endpoint": ep}), "%s: every call timed", ep)
		}
		assert.Positive(t, m.sum("flinkoperator_flink_rest_requests_total", map[string]string{"endpoint": "GET /jobs/:id", "outcome": "2xx"}))
		assert.Equal(t, 2.0, m.sum("flinkoperator_flink_rest_requests_total", map[string]string{"endpoint": "POST /jobs/:id/savepoints"}), "two triggers")
		assert.Equal(t, 1.0, m.sum("flinkoperator_flink_rest_requests_total", map[string]string{"endpoint": "POST /savepoint-disposal"}), "one disposal")
		assert.Positive(t, m.sum("flinkoperator_flink_rest_requests_total", map[string]string{"endpoint": "GET /jobs/:id/savepoints/:id", "outcome": "2xx"}))
	})

	t.Run("API writes, syncs and the workqueue", func(t *testing.T) {
		for kind, n := range map[string]float64{"ConfigMap": 1, "Deployment": 2, "Service": 1, "Job": 1} {
			assert.Equal(t, n, m.sum("flinkoperator_api_writes_total", map[string]string{"kind": kind, "verb": "create"}), "%s creates", kind)
		}
		assert.Equal(t, 1.0, m.sum("flinkoperator_api_writes_total", map[string]string{"kind": "FlinkCluster", "verb": "patch"}), "the finalizer, added with a patch")
		assert.GreaterOrEqual(t, m.sum("flinkoperator_api_writes_total", map[string]string{"kind": "FlinkCluster", "verb": "update_status"}), 4.0,
			"status through Pending, Submitting, Running, Savepointing, Running")
		assert.Zero(t, m.sum("flinkoperator_api_writes_total", map[string]string{"verb": "delete"}))
		assert.Positive(t, m.sum("flinkoperator_sync_duration_seconds_count", map[string]string{"outcome": "success"}))
		q := map[string]string{"name": "flinkcluster"}
		assert.Positive(t, m.value(t, "workqueue_adds_total", q))
		assert.Positive(t, m.value(t, "workqueue_work_duration_seconds_count", q))
		assert.InDelta(t, m.value(t, "workqueue_work_duration_seconds_count", q), m.sum("flinkoperator_sync_duration_seconds_count", nil), 2,
			"one sync per key taken (a sync may end between the two reads)")
		m.value(t, "workqueue_depth", q)
		m.value(t, "workqueue_retries_total", q)
	})

	t.Run("a deleted cluster's series disappear", func(t *testing.T) {
		require.NoError(t, env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Delete(ctx, "counter", metav1.DeleteOptions{}))
		waitFor(t, 60*time.Second, "the FlinkCluster to be gone", func() bool {
			_, err := env.flink.FlinkoperatorV1beta1().FlinkClusters(ns).Get(ctx, "counter", metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		})
		var left []string
		waitFor(t, 30*time.Second, "the cluster's series to go", func() bool {
			left = scrape(t, op.metrics).hasNamespace(ns)
			return len(left) == 0
		})
		after := scrape(t, op.metrics)
		assert.Empty(t, after.hasNamespace(ns), "left: %v", left)
		assert.Equal(t, 2.0, after.sum("flinkoperator_api_writes_total", map[string]string{"kind": "FlinkCluster", "verb": "patch"}),
			"the finalizer came off")
		assert.Positive(t, after.sum("workqueue_adds_total", nil), "operator-wide series stay")
	})
}

// simRequestCounts is what the simulated JobManager served for a cluster, by endpoint, in the
// operator's label form ("GET /jobs/:id").
func simRequestCounts(t *testing.T, ns, name string) map[string]int {
	t.Helper()
	var counts map[string]int
	code, body := httpGet(fmt.Sprintf("%s/sim/clusters/%s/%s/requests", env.simURL, ns, name))
	require.Equal(t, http.StatusOK, code, body)
	require.NoError(t, json.Unmarshal([]byte(body), &counts))
	out := map[string]int{}
	for ep, n := range counts {
		ep = strings.NewReplacer("{jobid}", ":id", "{triggerid}", ":id").Replace(ep)
		out[ep] += n
	}
	return out
}
