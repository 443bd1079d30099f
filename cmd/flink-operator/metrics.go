package main

import (
	"net/http"

	"github.com/flink-operator/flink-operator/pkg/controller/metrics"
)

// metricsHandler serves the operator's Prometheus registry (docs/metrics.md); allStates is
// --metrics-all-states.
func metricsHandler(allStates bool) http.Handler {
	metrics.SetAllStateSeries(allStates)
	return metrics.Handler()
}
