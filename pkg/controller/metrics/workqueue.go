package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/util/workqueue"
)

const workqueueSubsystem = "workqueue"

// workqueueProvider exports client-go's workqueue metrics, labelled by queue name, under the
// names Kubernetes controllers conventionally use so existing dashboards work.
type workqueueProvider struct {
	depth, unfinished, longestRunning *prometheus.GaugeVec
	adds, retries                     *prometheus.CounterVec
	latency, workDuration             *prometheus.HistogramVec
}

func newWorkqueueProvider(reg prometheus.Registerer) *workqueueProvider {
	labels := []string{"name"}
	buckets := prometheus.ExponentialBuckets(0.001, 4, 10)
	p := &workqueueProvider{
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Subsystem: workqueueSubsystem, Name: "depth",
			Help: "Current depth of the workqueue."}, labels),
		adds: prometheus.NewCounterVec(prometheus.CounterOpts{Subsystem: workqueueSubsystem, Name: "adds_total",
			Help: "Total number of adds handled by the workqueue."}, labels),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Subsystem: workqueueSubsystem, Name: "queue_duration_seconds",
			Help: "How long an item stays in the workqueue before being requested.", Buckets: buckets}, labels),
		workDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Subsystem: workqueueSubsystem, Name: "work_duration_seconds",
			Help: "How long processing an item from the workqueue takes.", Buckets: buckets}, labels),
		unfinished: prometheus.NewGaugeVec(prometheus.GaugeOpts{Subsystem: workqueueSubsystem, Name: "unfinished_work_seconds",
			Help: "Seconds of work in progress not yet observed by work_duration; large values mean stuck workers."}, labels),
		longestRunning: prometheus.NewGaugeVec(prometheus.GaugeOpts{Subsystem: workqueueSubsystem, Name: "longest_running_processor_seconds",
			Help: "Seconds the longest running processor has been running."}, labels),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Subsystem: workqueueSubsystem, Name: "retries_total",
			Help: "Total number of retries handled by the workqueue."}, labels),
	}
	reg.MustRegister(p.depth, p.adds, p.latency, p.workDuration, p.unfinished, p.longestRunning, p.retries)
	return p
}

func (p *workqueueProvider) NewDepthMetric(name string) workqueue.GaugeMetric {
	return p.depth.WithLabelValues(name)
}

func (p *workqueueProvider) NewAddsMetric(name string) workqueue.CounterMetric {
	return p.adds.WithLabelValues(name)
}

func (p *workqueueProvider) NewLatencyMetric(name string) workqueue.HistogramMetric {
	return p.latency.WithLabelValues(name)
}

func (p *workqueueProvider) NewWorkDurationMetric(name string) workqueue.HistogramMetric {
	return p.workDuration.WithLabelValues(name)
}

func (p *workqueueProvider) NewUnfinishedWorkSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return p.unfinished.WithLabelValues(name)
}

func (p *workqueueProvider) NewLongestRunningProcessorSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return p.longestRunning.WithLabelValues(name)
}

func (p *workqueueProvider) NewRetriesMetric(name string) workqueue.CounterMetric {
	return p.retries.WithLabelValues(name)
}
