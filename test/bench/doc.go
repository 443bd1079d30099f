package main

// The parts of docs/benchmarks.md the harness writes only when the file does not exist yet (or
// has no generated section): the method and the definitions. Once the file exists, only the
// section between the BEGIN/END markers is replaced, so hand-written analysis around it stays.

const docSkeletonHead = `# Benchmarks

How the operator scales with the number of FlinkClusters: latency, throughput, idle cost, memory
and CPU, cold restart, and the cost of one sync. Produced by ` + "`make bench`" + ` (` + "`hack/bench.sh`" + `,
harness in ` + "`test/bench/`" + `); the section between the markers below is rewritten by every run.

` + "```" + `sh
make bench                                  # N = 100 and 1,000 (about 25 min)
hack/bench.sh --n 100,1000 --with-5000      # adds N = 5,000
hack/bench.sh --ci                          # N = 50, about 3 min, fails on idle writes or too many polls
hack/bench.sh --n 1000 -- --operator-args "--kube-api-qps=500 --kube-api-burst=1000"
` + "```" + `

## Method

Everything runs on this machine as separate processes, as in production, only without containers:

- **Control plane**: ` + "`hack/cluster-up.sh`" + ` with ` + "`CLUSTER_NAME=flink-operator-bench`" + `, ` + "`SCALE=1`" + `
  (kwokctl ` + "`--disable-qps-limits`" + `: kube-apiserver without max-in-flight limits and without
  priority and fairness), ` + "`SERVICE_CIDR=10.96.0.0/12`" + ` (room for a million ClusterIPs),
  ` + "`KCM_API_QPS=5000 KCM_API_BURST=10000`" + `: **kube-controller-manager's client QPS is raised** from
  the default 20/30 so that the Deployment, ReplicaSet and Job controllers creating pods are not
  the bottleneck being measured (kwokctl sets the same for the scheduler). Fake kwok nodes (110
  pods each) sized to 3 pods per FlinkCluster (JobManager, one TaskManager, the submitter): nodes =
  ceil(3 × clusters / 100) + 2. A fresh cluster for every N.
- **Simulated JobManager**: one ` + "`flink-sim`" + ` process for all clusters with every delay zero
  (a submitted job is RUNNING on the next request), watching submitter Jobs and submitting their
  command lines (docs/simulator.md).
- **Operator**: the ` + "`cmd/flink-operator`" + ` binary, pointed at the simulator with
  ` + "`--jobmanager-url-template`" + `, default flags unless the run says otherwise (2 workers,
  ` + "`--flink-poll-interval=10s`" + `, client QPS 200 / burst 400), metrics on a local port. It is built
  with ` + "`go build -overlay`" + ` adding one file (` + "`test/bench/testdata/operator_pprof.go`" + `) that serves
  ` + "`net/http/pprof`" + ` when ` + "`FLINK_OPERATOR_BENCH_PPROF`" + ` is set; the operator's code is unchanged.
- **Harness** (` + "`test/bench`" + `): creates job clusters (1 TaskManager, the minimal job spec of the
  integration tests) and watches FlinkClusters and their children with its own informers.

Phases of a run at N: a **burst** of N job clusters (16 create requests in flight); a **steady
rate** of max(20, N/10) more at 5 per second; the jobs of 5 burst clusters are **finished** in the
simulator, so that those clusters go to Stopped; the system **settles** (workqueue empty and no API
writes for 10 s); the **idle window** (5 min); a **cold restart** of the operator; then for each of
1, 2, 4 and 8 workers: a restart with that many workers and a **throughput** burst of 100 more
clusters. So the idle and restart phases see N + steady clusters, not N.

## Metrics

All measured from outside the operator: the harness's watches, the API server's metrics, the
simulator's counters, and the operator's ` + "`/metrics`" + ` endpoint only for process numbers.

- **create → all children**: per FlinkCluster, from the harness's watch event ADDED for the
  FlinkCluster to the ADDED event of the last of its ConfigMap, JobManager Service, JobManager
  Deployment and TaskManager Deployment. Watch events, not ` + "`creationTimestamp`" + `, because
  timestamps have a resolution of one second. The same distance from the create request is in the
  details. p50 / p99 / max over the clusters of the phase.
- **create → job Running**: from the ADDED event to the first event with
  ` + "`status.components.job.state == Running`" + `. Includes kube-controller-manager (ReplicaSets, pods),
  the scheduler and kwok making the Deployments available, the submitter Job, the simulator
  submitting its command line, and the operator's next poll.
- **throughput**: clusters of a 100-cluster burst brought to job Running per second: 100 / (last
  Running event − first create request), with 1, 2, 4 and 8 workers, each on top of the clusters
  already Running.
- **idle API writes**: the API server's ` + "`apiserver_request_total`" + ` for POST, PUT, PATCH, DELETE
  and APPLY to FlinkClusters (and their status), ConfigMaps, Services, Ingresses, Deployments and
  Jobs (not the status of Deployments and Jobs, which their controllers write), as in
  ` + "`test/integration/idle_test.go`" + `, over the idle window, divided by Running clusters and minutes.
  Events are counted apart (the API server cannot tell their writers apart).
- **idle Flink REST calls**: requests the simulator served per cluster (` + "`/sim/clusters`" + `) over the
  idle window, per minute: mean, min and max over Running clusters (expected 60 / poll interval
  plus 60 / health check interval: 7 with the defaults),
  and the total for the stopped clusters (expected 0). Five more clusters use
  ` + "`restartPolicy: FromLatestStateOnFailure`" + ` (created after the burst, checkpointing once an
  hour so their record does not change): their mean is expected to be at most one more (the
  history read that records the latest checkpoint, once a minute); CI fails above it + 15%.
- **RSS**: ` + "`process_resident_memory_bytes`" + ` of the operator, scraped every second: the mean over the
  idle window (steady state) and the maximum during the burst (first create to last job Running).
  Also ` + "`go_memstats_heap_inuse_bytes`" + `, and at the end of the idle window RSS split into anonymous memory
  and file-backed pages (` + "`RssAnon`" + ` and ` + "`RssFile`" + ` of ` + "`/proc/PID/status`" + `; the latter is the operator's own
  executable mapped from the page cache).
- **CPU**: ` + "`process_cpu_seconds_total`" + `: consumed during the burst, the highest rate over 5 s in
  the burst (cores), and seconds per minute while idle.
- **Machine and API server during the burst** (in the details): from the first create until every
  burst cluster has its children, the share of the machine's CPU time that was busy
  (` + "`/proc/stat`" + `, every process) and the API server's mean duration of a write
  (` + "`apiserver_request_duration_seconds`" + `, POST and PUT of every client). They tell an operator
  bottleneck from a control-plane one.
- **cold restart**: SIGTERM, then a new operator process with every cluster Running. "ready" is
  ` + "`/readyz`" + ` answering 200 (informer caches synced); "every cluster synced" is when the operator's
  sync counter (` + "`flinkoperator_sync_duration_seconds_count`" + `) reached the number of clusters with
  the workqueue empty (` + "`workqueue_depth`" + ` 0) and no sync in flight
  (` + "`workqueue_longest_running_processor_seconds`" + ` 0): every key the informers queued at start was
  synced. Writes: as for idle, from before the stop to 5 s after every cluster was synced.
- **no-op sync** (` + "`BenchmarkNoOpSync`" + ` in ` + "`pkg/controller/bench_test.go`" + `): one sync of a Running
  cluster with indexers as listers, fake clientsets (the setup checks the sync writes nothing) and a
  stub Flink client; syncs per second of wall time with 1 and 2 goroutines syncing 64 clusters
  round robin.

`

const docSkeletonTail = `

## Analysis

(Written by hand after a run: which targets were missed, where the time and memory go, and what
would fix it.)
`
