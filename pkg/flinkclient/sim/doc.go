// Package sim is a simulated Flink JobManager: one http.Handler (Server)
// that serves the Flink REST subset used by pkg/flinkclient for any number
// of simulated clusters, plus a control API to inject faults. It is used by
// integration tests, benchmarks (thousands of clusters in one process) and
// `make dev` (through test/cmd/flink-sim).
//
// Cluster NS/NAME lives under the path prefix /clusters/NS/NAME; its
// JobManager base URL is JobManagerURL(serverURL, NS, NAME). A cluster is
// created on first use (or with CreateCluster) and removed with
// RemoveCluster.
//
// Time comes from a Clock. State is advanced lazily: each request (or Go
// API call) first applies every transition that became due since the last
// one, so an idle cluster costs no goroutine and no timer, and a test with a
// FakeClock controls every transition exactly.
//
// Jobs are started the way the operator's submitter pod starts them: Submit
// takes the `flink run ...` command line (see ParseRunCommand).
//
// docs/simulator.md describes the URL scheme, the control API, the faults
// and what is not simulated.
package sim
