package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/flink-operator/flink-operator/pkg/flinkclient"
	"github.com/prometheus/client_golang/prometheus"
)

var (
	syncDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "flinkoperator_sync_duration_seconds",
		Help:    "Duration of one sync of a FlinkCluster, by outcome (success, error).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
	}, []string{"outcome"})
	flinkRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flinkoperator_flink_rest_requests_total",
		Help: "Calls to JobManager REST APIs, by endpoint (method and path template) and outcome (the HTTP status class, or error).",
	}, []string{"endpoint", "outcome"})
	flinkLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "flinkoperator_flink_rest_request_duration_seconds",
		Help:    "Latency of calls to JobManager REST APIs, by endpoint.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
	}, []string{"endpoint"})
	leader = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "flinkoperator_leader",
		Help: "1 while this replica holds the leader Lease (or runs without leader election), 0 on a standby.",
	})
	apiWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flinkoperator_api_writes_total",
		Help: "Writes the operator made to the Kubernetes API, by kind and verb (create, update, delete, update_status).",
	}, []string{"kind", "verb"})
)

func init() {
	Registry.MustRegister(syncDuration, flinkRequests, flinkLatency, apiWrites, leader)
}

// SyncDone records the duration of a sync.
func SyncDone(d time.Duration, err error) {
	outcome := "success"
	if err != nil {
		outcome = "error"
	}
	syncDuration.WithLabelValues(outcome).Observe(d.Seconds())
}

// SetLeading records whether this replica leads.
func SetLeading(lead bool) {
	if lead {
		leader.Set(1)
		return
	}
	leader.Set(0)
}

// APIWrite counts one write to the Kubernetes API.
func APIWrite(kind, verb string) {
	apiWrites.WithLabelValues(kind, verb).Inc()
}

// InstrumentFlinkTransport counts and times every request to a JobManager.
func InstrumentFlinkTransport(next http.RoundTripper) http.RoundTripper {
	return instrumented{next: next, roundTrip: func(req *http.Request) (*http.Response, error) {
		endpoint := req.Method + " " + EndpointTemplate(req.URL.Path)
		start := time.Now()
		resp, err := next.RoundTrip(req)
		flinkLatency.WithLabelValues(endpoint).Observe(time.Since(start).Seconds())
		outcome := "error"
		if err == nil {
			outcome = strconv.Itoa(resp.StatusCode/100) + "xx"
		}
		flinkRequests.WithLabelValues(endpoint, outcome).Inc()
		return resp, err
	}}
}

// instrumented is a RoundTripper that passes CloseIdleConnections on, so that http.Client's
// reaches the transport below (the REST client closes a replaced TLS pool's connections).
type instrumented struct {
	next      http.RoundTripper
	roundTrip func(*http.Request) (*http.Response, error)
}

func (i instrumented) RoundTrip(r *http.Request) (*http.Response, error) { return i.roundTrip(r) }

func (i instrumented) CloseIdleConnections() {
	if c, ok := i.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// restRoots are the first path segments of the Flink REST API the operator uses; whatever
// precedes them (a proxy or simulator prefix) is dropped.
var restRoots = map[string]bool{"overview": true, "config": true, "jobs": true, "savepoint-disposal": true}

// EndpointTemplate turns a request path into a bounded label: job and trigger IDs become :id,
// and a prefix before the REST API's own path is dropped.
func EndpointTemplate(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	start := -1
	for i, s := range segs {
		if restRoots[s] {
			start = i
			break
		}
	}
	if start < 0 {
		return "other"
	}
	segs = segs[start:]
	for i, s := range segs {
		if flinkclient.IsValidID(s) {
			segs[i] = ":id"
		}
	}
	return "/" + strings.Join(segs, "/")
}
