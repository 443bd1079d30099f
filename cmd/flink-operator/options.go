package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/flink-operator/flink-operator/pkg/controller/desired"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
	"github.com/flink-operator/flink-operator/pkg/controller/shard"
)

type options struct {
	kubeconfig string
	namespace  string
	// shard is the value of the shard label of the FlinkClusters this process acts on ("": the
	// clusters without one).
	shard string
	// operatorNamespace is where the operator itself runs: FlinkClusters' NetworkPolicies admit it.
	operatorNamespace string
	// jarFetcherImage is the operator's own image: init containers run it to fetch http(s)
	// jarFiles.
	jarFetcherImage string
	// dashboardURLTemplate is the Flink dashboard's URL status reports ("": none).
	dashboardURLTemplate string
	workers              int
	kubeAPIQPS           float32
	kubeAPIBurst         int
	cacheSyncTimeout     time.Duration

	leaderElect          bool
	leaderElectionNS     string
	leaderElectionID     string
	leaseDuration        time.Duration
	renewDeadline        time.Duration
	retryPeriod          time.Duration
	leaderElectionHolder string

	metricsAddr string
	// metricsAllStates exports every state of the state-set gauges, not only the current one.
	metricsAllStates bool
	healthAddr       string

	jobManagerURLTemplate string
	flinkTimeout          time.Duration
	fsm                   fsm.Settings
}

func defaultOptions() options {
	host, _ := os.Hostname()
	return options{
		workers:              2,
		operatorNamespace:    os.Getenv("POD_NAMESPACE"),
		kubeAPIQPS:           200,
		kubeAPIBurst:         400,
		cacheSyncTimeout:     2 * time.Minute,
		leaderElectionID:     "flink-operator",
		leaseDuration:        15 * time.Second,
		renewDeadline:        10 * time.Second,
		retryPeriod:          2 * time.Second,
		leaderElectionHolder: host,
		metricsAddr:          ":8080",
		healthAddr:           ":8081",

		jobManagerURLTemplate: names.DefaultJobManagerURLTemplate,
		flinkTimeout:          5 * time.Second,
		fsm:                   fsm.DefaultSettings(),
	}
}

func (o *options) bind(fs *flag.FlagSet) {
	fs.StringVar(&o.kubeconfig, "kubeconfig", o.kubeconfig, "Path to a kubeconfig. Empty: $KUBECONFIG, ~/.kube/config, then the in-cluster service account.")
	fs.StringVar(&o.namespace, "namespace", o.namespace, "Watch FlinkClusters in this namespace only. Empty: all namespaces.")
	fs.StringVar(&o.shard, "shard", o.shard, "Act only on FlinkClusters labelled "+shard.Label+"=SHARD, with a Lease of its own (--leader-election-id-SHARD); "+
		"requires --leader-elect. Empty: the clusters without that label. See docs/operations.md, Sharding.")
	fs.IntVar(&o.workers, "workers", o.workers, "Number of FlinkClusters synced in parallel.")
	fs.Func("kube-api-qps", "Client-side QPS limit towards the API server (default 200); the API server's priority and fairness protects it beyond that.", func(s string) error { return parseFloat32(s, &o.kubeAPIQPS) })
	fs.IntVar(&o.kubeAPIBurst, "kube-api-burst", o.kubeAPIBurst, "Client-side burst towards the API server.")
	fs.DurationVar(&o.cacheSyncTimeout, "cache-sync-timeout", o.cacheSyncTimeout, "Give up when the informer caches have not synced by then.")
	fs.BoolVar(&o.leaderElect, "leader-elect", o.leaderElect, "Elect a leader through a Lease so that only one replica acts.")
	fs.StringVar(&o.operatorNamespace, "operator-namespace", o.operatorNamespace, "The operator's own namespace, which FlinkClusters' NetworkPolicies (spec.networkPolicy) admit to the JobManagers' REST port. Default: POD_NAMESPACE; empty outside the cluster.")
	fs.StringVar(&o.jarFetcherImage, "jar-fetcher-image", o.jarFetcherImage, "The operator's own image, which an init container runs to fetch a job's http:// or https:// jarFile (flink-operator fetch-jar). Empty: such jarFiles are reported as an invalid spec.")
	fs.StringVar(&o.leaderElectionNS, "leader-election-namespace", o.leaderElectionNS, "Namespace of the leader-election Lease. Empty: the pod's namespace (POD_NAMESPACE).")
	fs.StringVar(&o.leaderElectionID, "leader-election-id", o.leaderElectionID, "Name of the leader-election Lease.")
	fs.StringVar(&o.leaderElectionHolder, "leader-election-identity", o.leaderElectionHolder, "This replica's identity in the Lease (default: the hostname).")
	fs.DurationVar(&o.leaseDuration, "leader-election-lease-duration", o.leaseDuration, "How long a standby waits before taking over an unrenewed Lease.")
	fs.DurationVar(&o.renewDeadline, "leader-election-renew-deadline", o.renewDeadline, "How long the leader keeps trying to renew before it gives up leading.")
	fs.DurationVar(&o.retryPeriod, "leader-election-retry-period", o.retryPeriod, "Interval between leader-election attempts.")
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", o.metricsAddr, "Address of the Prometheus /metrics endpoint; 0 disables it.")
	fs.BoolVar(&o.metricsAllStates, "metrics-all-states", o.metricsAllStates,
		"Export flinkcluster_state and flinkcluster_job_state for every state (0 for the others, 22 series per job cluster) instead of only the current one (2).")
	fs.StringVar(&o.healthAddr, "health-probe-bind-address", o.healthAddr, "Address of /healthz and /readyz; 0 disables it.")
	fs.StringVar(&o.jobManagerURLTemplate, "jobmanager-url-template", o.jobManagerURLTemplate,
		"Go template of a JobManager's REST URL, over .Name, .Namespace, .Service and .Port. Outside the cluster, point it at port-forwards or a proxy, e.g. http://127.0.0.1:8990/clusters/{{.Namespace}}/{{.Name}}.")
	fs.StringVar(&o.dashboardURLTemplate, "dashboard-url-template", o.dashboardURLTemplate,
		"Go template of the Flink dashboard's URL that status.components.jobManagerService.dashboardURL reports (kubectl get fc -o wide), over the same fields; "+
			"e.g. http://127.0.0.1:8001/api/v1/namespaces/{{.Namespace}}/services/{{.Service}}:ui/proxy/ through kubectl proxy. Empty: not reported.")
	fs.DurationVar(&o.flinkTimeout, "flink-timeout", o.flinkTimeout, "Timeout of each call to a JobManager's REST API.")
	fs.DurationVar(&o.fsm.PollInterval, "flink-poll-interval", o.fsm.PollInterval, "How often a running job is polled through the Flink REST API.")
	fs.DurationVar(&o.fsm.SavepointPollInterval, "savepoint-poll-interval", o.fsm.SavepointPollInterval, "How often a savepoint in flight is polled.")
	fs.DurationVar(&o.fsm.SavepointTimeout, "savepoint-timeout", o.fsm.SavepointTimeout, "A savepoint that has not completed by then is reported failed.")
	fs.DurationVar(&o.fsm.LostGrace, "job-lost-grace", o.fsm.LostGrace, "How long a reachable JobManager may not know the job before it is Lost.")
	fs.DurationVar(&o.fsm.HARecoveryGrace, "ha-recovery-grace", o.fsm.HARecoveryGrace,
		"With high availability, how long a reachable JobManager may not know the job (Flink recovering it itself) before it is Lost.")
	fs.DurationVar(&o.fsm.RestartBackoff, "restart-backoff", o.fsm.RestartBackoff, "First delay before a failed job is restarted; it doubles per restart.")
	fs.DurationVar(&o.fsm.MaxRestartBackoff, "max-restart-backoff", o.fsm.MaxRestartBackoff, "Longest delay before a failed job is restarted.")
	fs.DurationVar(&o.fsm.CheckpointRecordInterval, "checkpoint-record-interval", o.fsm.CheckpointRecordInterval,
		"How often a running job's latest checkpoint is read into status when its policies resume from the latest state (one REST call each); such jobs retain enough checkpoints to outlive it.")
	fs.DurationVar(&o.fsm.HealthCheckInterval, "health-check-interval", o.fsm.HealthCheckInterval,
		"How often a running job's restart and checkpoint counters are read for condition JobHealthy (one REST call each).")
	fs.Int64Var(&o.fsm.Health.MaxRestarts, "unhealthy-restarts", o.fsm.Health.MaxRestarts,
		"A job that Flink restarted more than this many times within --unhealthy-restart-window is unhealthy (RestartLoop).")
	fs.DurationVar(&o.fsm.Health.RestartWindow, "unhealthy-restart-window", o.fsm.Health.RestartWindow,
		"The window of --unhealthy-restarts; an unhealthy job is healthy again after a whole window without a restart.")
	fs.Int64Var(&o.fsm.Health.CheckpointIntervals, "unhealthy-checkpoint-intervals", o.fsm.Health.CheckpointIntervals,
		"A checkpointing job that completed no checkpoint for more than this many of its checkpoint intervals is unhealthy (CheckpointsStalled).")
}

func (o *options) validate() error {
	var errs []error
	if o.workers < 1 {
		errs = append(errs, errors.New("--workers must be at least 1"))
	}
	for name, d := range map[string]time.Duration{"--flink-timeout": o.flinkTimeout, "--flink-poll-interval": o.fsm.PollInterval,
		"--savepoint-poll-interval": o.fsm.SavepointPollInterval, "--savepoint-timeout": o.fsm.SavepointTimeout,
		"--job-lost-grace": o.fsm.LostGrace, "--ha-recovery-grace": o.fsm.HARecoveryGrace, "--restart-backoff": o.fsm.RestartBackoff, "--max-restart-backoff": o.fsm.MaxRestartBackoff,
		"--checkpoint-record-interval": o.fsm.CheckpointRecordInterval, "--health-check-interval": o.fsm.HealthCheckInterval,
		"--unhealthy-restart-window": o.fsm.Health.RestartWindow} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", name))
		}
	}
	if o.fsm.Health.MaxRestarts < 0 || o.fsm.Health.CheckpointIntervals < 1 {
		errs = append(errs, errors.New("--unhealthy-restarts must be at least 0 and --unhealthy-checkpoint-intervals at least 1"))
	}
	if o.fsm.SavepointTimeout > desired.AsyncOperationStoreDuration {
		errs = append(errs, fmt.Errorf("--savepoint-timeout must be at most %s: job clusters keep a stop's result in Flink "+
			"(%s) that long, and a stop is confirmed from that result", desired.AsyncOperationStoreDuration, desired.AsyncOperationStoreKey))
	}
	if _, err := names.NewJobManagerURLs(o.jobManagerURLTemplate); err != nil {
		errs = append(errs, fmt.Errorf("--jobmanager-url-template: %w", err))
	}
	if o.dashboardURLTemplate != "" {
		if _, err := names.NewJobManagerURLs(o.dashboardURLTemplate); err != nil {
			errs = append(errs, fmt.Errorf("--dashboard-url-template: %w", err))
		}
	}
	if o.shard != "" {
		if msgs := validation.IsValidLabelValue(o.shard); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("--shard %q is not a label value: %s", o.shard, strings.Join(msgs, "; ")))
		}
		if !o.leaderElect {
			// Another shard takes this one's clusters over when its Lease expires; without
			// a Lease, it would do so while this process still acts.
			errs = append(errs, errors.New("--shard requires --leader-elect"))
		}
	}
	if o.leaderElect {
		if o.leaderElectionNS == "" {
			o.leaderElectionNS = os.Getenv("POD_NAMESPACE")
		}
		if o.leaderElectionNS == "" {
			errs = append(errs, errors.New("--leader-election-namespace (or POD_NAMESPACE) is required with --leader-elect"))
		}
		if o.renewDeadline >= o.leaseDuration {
			errs = append(errs, errors.New("--leader-election-renew-deadline must be shorter than --leader-election-lease-duration"))
		}
		if o.leaseDuration < time.Second {
			errs = append(errs, errors.New("--leader-election-lease-duration must be at least 1s (a Lease counts whole seconds)"))
		}
		// Several renewals must fit in the renew deadline, or one slow call loses the Lease.
		if o.retryPeriod <= 0 || 2*o.retryPeriod > o.renewDeadline {
			errs = append(errs, errors.New("--leader-election-retry-period must be positive and at most half of --leader-election-renew-deadline"))
		}
	}
	return errors.Join(errs...)
}
