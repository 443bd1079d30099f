package observer

import (
	"context"
	"strconv"
	"sync"
	"time"

	"k8s.io/klog/v2"

	"github.com/flink-operator/flink-operator/pkg/controller/health"
)

// The job metrics one health read asks for, in one call.
const (
	metricRestarts    = "numRestarts"
	metricCheckpoints = "numberOfCompletedCheckpoints"
)

// maxHealthSamples bounds the samples kept per cluster. Runs of equal samples are kept as their
// first and last, so a job that neither restarts nor checkpoints costs two; a job restarting
// every minute fills them in about two hours, longer than any restart window worth judging.
const maxHealthSamples = 128

// healthSamples keeps, per cluster, this process's reads of the current job's metrics: a
// restarted operator starts anew and judges only from what it read (status keeps the last
// verdict meanwhile). The zero value is ready to use.
type healthSamples struct {
	mu   sync.Mutex
	logs map[string]sampleLog
}

type sampleLog struct {
	jobID   string
	samples []health.Sample
	// readAt is when the metrics were last asked for, answered or not: an unanswered read is
	// not repeated before the interval either.
	readAt time.Time
}

// get returns a copy of jobID's samples for the cluster key and when they were last asked for.
func (h *healthSamples) get(key, jobID string) ([]health.Sample, time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	l, ok := h.logs[key]
	if !ok || l.jobID != jobID {
		return nil, time.Time{}
	}
	return append([]health.Sample(nil), l.samples...), l.readAt
}

// read records a read of jobID's metrics at now, and its sample when it was answered (a new job
// ID starts a new log).
func (h *healthSamples) read(key, jobID string, now time.Time, s health.Sample, answered bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.logs == nil {
		h.logs = map[string]sampleLog{}
	}
	l := h.logs[key]
	if l.jobID != jobID {
		l = sampleLog{jobID: jobID}
	}
	l.readAt = now
	if answered {
		l.samples = appendSample(l.samples, s)
	}
	h.logs[key] = l
}

// appendSample adds s, keeping a run of equal samples as its first and last, and at most
// maxHealthSamples.
func appendSample(samples []health.Sample, s health.Sample) []health.Sample {
	n := len(samples)
	if n >= 2 && sameValues(samples[n-1], s) && sameValues(samples[n-2], s) {
		samples[n-1] = s
		return samples
	}
	samples = append(samples, s)
	if len(samples) > maxHealthSamples {
		samples = append([]health.Sample(nil), samples[len(samples)-maxHealthSamples:]...)
	}
	return samples
}

func (h *healthSamples) forget(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.logs, key)
}

func sameValues(a, b health.Sample) bool {
	return a.Restarts == b.Restarts && a.Checkpoints == b.Checkpoints
}

// ObserveJobMetrics reads the job's restart and checkpoint counters in one call. It reports false
// when the JobManager did not answer or has no numRestarts for the job yet (its metric fetcher
// refreshes every 10 s); a job without checkpointing has no completed checkpoints.
func ObserveJobMetrics(ctx context.Context, flink FlinkReader, jm, jobID string, now time.Time) (health.Sample, bool) {
	m, err := flink.GetJobMetrics(ctx, jm, jobID, metricRestarts, metricCheckpoints)
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Cannot read the job's metrics", "url", jm, "jobID", jobID, "err", err)
		return health.Sample{}, false
	}
	restarts, err := strconv.ParseInt(m[metricRestarts], 10, 64)
	if err != nil {
		return health.Sample{}, false
	}
	checkpoints, _ := strconv.ParseInt(m[metricCheckpoints], 10, 64)
	return health.Sample{At: now, Restarts: restarts, Checkpoints: checkpoints}, true
}
