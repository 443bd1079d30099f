// Package flinkclient is the typed client the operator uses to talk to the
// REST API of Flink JobManagers (Flink 1.20 and 2.x).
//
// One Client serves every Flink cluster the operator manages: each call takes
// the JobManager base URL (for example "http://NAME-jobmanager.NS.svc:8081")
// as an argument instead of binding a client per cluster. That keeps the
// controller-facing Interface flat (easy to fake and to record), lets all
// clusters share one connection pool, and avoids a per-cluster object whose
// lifetime would have to follow the FlinkCluster resource.
//
// Failures come back as errors a caller can branch on with errors.Is/As:
// ErrJobNotFound, ErrTriggerNotFound, ErrCheckpointingDisabled,
// ErrUnreachable, ErrTimeout, ErrInvalidArgument and *UnexpectedResponseError.
// Response bodies are size-limited and decoded by pure functions that are
// fuzz-tested, so malformed or hostile JSON yields an error, never a panic.
//
// See docs/flink-rest.md for the endpoints and fields used.
package flinkclient
