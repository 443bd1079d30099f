package main

import (
	"net/http"

	"github.com/flink-operator/flink-operator/pkg/controller/metrics"
)

// metricsHandler serves the operator's Prometheus registry (docs/metrics.md).
func metricsHandler() http.Handler {
	return metrics.Handler()
}
