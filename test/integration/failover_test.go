//go:build integration

package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/fsm"
	"github.com/flink-operator/flink-operator/test/ports"
)

// Leader election timing of the operators these tests run: short, so that a takeover takes
// seconds.
const (
	testLeaseDuration = 4 * time.Second
	testRenewDeadline = 3 * time.Second
	testRetryPeriod   = 500 * time.Millisecond
)

// pauseSuiteOperator stops the suite's own operator (it runs without leader election and would
// act on every FlinkCluster) for the rest of the test, and starts it again at the end.
func pauseSuiteOperator(t *testing.T) {
	t.Helper()
	env.operator.Stop()
	t.Cleanup(func() {
		if err := env.operator.Start(); err != nil {
			t.Errorf("restarting the suite's operator: %v", err)
		}
	})
}

// operatorArgs are the suite operator's settings (the simulated JobManager, short intervals).
func operatorArgs(kubeconfig string) []string {
	return []string{"--kubeconfig", kubeconfig, "-v=2",
		"--jobmanager-url-template=" + env.simURL + "/clusters/{{.Namespace}}/{{.Name}}",
		"--flink-poll-interval=1s", "--savepoint-poll-interval=300ms", "--job-lost-grace=3s", "--checkpoint-record-interval=3s",
		"--restart-backoff=1s", "--max-restart-backoff=2s",
		"--health-check-interval=" + healthInterval.String(), "--unhealthy-restart-window=" + restartWindow.String()}
}

// namespacedLeaderArgs are the suite operator's settings for one namespace, with leader election
// on a Lease in that namespace.
func namespacedLeaderArgs(ns, lease, identity string) []string {
	return append(append(operatorArgs(env.kubeconfig), "--namespace="+ns), leaderElectionArgs(ns, lease, identity)...)
}

func leaderElectionArgs(leaseNS, leaseName, identity string) []string {
	return []string{"--leader-elect", "--leader-election-namespace=" + leaseNS, "--leader-election-id=" + leaseName,
		"--leader-election-identity=" + identity,
		"--leader-election-lease-duration=" + testLeaseDuration.String(),
		"--leader-election-renew-deadline=" + testRenewDeadline.String(),
		"--leader-election-retry-period=" + testRetryPeriod.String()}
}

// operatorProcess is an operator binary the test runs, with its health and metrics addresses.
type operatorProcess struct {
	*process
	name    string
	health  string
	metrics string
}

// startOperatorProcess builds and starts an operator logging to bin/NAME.log, serving health and
// metrics on free local ports; it is stopped (SIGTERM) when the test ends.
func startOperatorProcess(t *testing.T, name string, args ...string) *operatorProcess {
	t.Helper()
	ports, err := ports.Free(2)
	require.NoError(t, err)
	op := &operatorProcess{name: name,
		health:  fmt.Sprintf("127.0.0.1:%d", ports[0]),
		metrics: fmt.Sprintf("127.0.0.1:%d", ports[1])}
	args = append(args, "--health-probe-bind-address="+op.health, "--metrics-bind-address="+op.metrics)
	op.process, err = newProcess("./cmd/flink-operator", name, args...)
	require.NoError(t, err)
	require.NoError(t, op.Start())
	t.Cleanup(op.Stop)
	return op
}

// probe GETs a path of the operator's health server; code 0 means no answer.
func (o *operatorProcess) probe(path string) (int, string) {
	return httpGet("http://" + o.health + path)
}

func httpGet(url string) (int, string) {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body))
}

// logText is what the process logged so far.
func (o *operatorProcess) logText(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(env.root, "bin", o.name+".log"))
	require.NoError(t, err)
	return string(data)
}

func waitStandby(t *testing.T, op *operatorProcess) {
	t.Helper()
	waitFor(t, 60*time.Second, op.name+" to be a ready standby", func() bool {
		code, body := op.probe("/readyz")
		return code == http.StatusOK && body == "ok: not leading (standby)"
	})
}

// leaseRecord reads the leader-election Lease ("" when it does not exist yet).
func leaseRecord(t *testing.T, ns, name string) (holder string, renew, acquire time.Time, transitions int32) {
	t.Helper()
	l, err := env.kube.CoordinationV1().Leases(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return "", time.Time{}, time.Time{}, 0
	}
	if l.Spec.HolderIdentity != nil {
		holder = *l.Spec.HolderIdentity
	}
	if l.Spec.RenewTime != nil {
		renew = l.Spec.RenewTime.Time
	}
	if l.Spec.AcquireTime != nil {
		acquire = l.Spec.AcquireTime.Time
	}
	if l.Spec.LeaseTransitions != nil {
		transitions = *l.Spec.LeaseTransitions
	}
	return holder, renew, acquire, transitions
}

// killLeader SIGKILLs the leader (no graceful release of the Lease) and measures how long the
// Lease takes to name the standby. It checks that the standby waited out the lease (it acquired
// at least a lease duration after the dead leader's last renewal: never two leaders) and took
// over promptly after that.
func killLeader(t *testing.T, ns, lease string, leader, standby *operatorProcess) time.Duration {
	t.Helper()
	holder, lastRenew, _, transitions := leaseRecord(t, ns, lease)
	require.Equal(t, leader.name, holder)
	killed := time.Now()
	leader.Kill()
	var took time.Duration
	var acquired time.Time
	var newTransitions int32
	require.Eventually(t, func() bool {
		h, renew, acquire, tr := leaseRecord(t, ns, lease)
		if h == leader.name {
			lastRenew = renew // the last renewal before the kill may land after the read above
			return false
		}
		took, acquired, newTransitions = time.Since(killed), acquire, tr
		return h == standby.name
	}, 30*time.Second, 20*time.Millisecond, "the standby %s to take the Lease", standby.name)
	// The standby acquires once it has seen no renewal for a lease duration; it looks every retry
	// period, jittered up to 2.2×, and the dead leader's last renewal was up to a retry period
	// before the kill.
	bound := testLeaseDuration + 4*testRetryPeriod
	assert.Less(t, took, bound, "takeover after a SIGKILL within the lease duration plus retry periods")
	// client-go notices a renewal only when the record's JSON changes, and that JSON carries
	// RenewTime in whole seconds: renewals inside one second look alike, so the standby's clock
	// can start up to a second after the last renewal. A lease duration less that second is
	// what client-go guarantees, and what this checks (CI once saw 3.9 s with a 4 s lease).
	assert.GreaterOrEqual(t, acquired.Sub(lastRenew), testLeaseDuration-time.Second,
		"the standby waited out the dead leader's lease (less client-go's one-second record granularity)")
	assert.Equal(t, transitions+1, newTransitions)
	t.Logf("%s killed; %s holds the Lease %s later (lease %s, retry period %s)", leader.name, standby.name,
		took.Round(time.Millisecond), testLeaseDuration, testRetryPeriod)
	return took
}

// waitJobFast is waitJob with a short poll interval, to catch a state that lasts a moment.
func waitJobFast(t *testing.T, ns, name string, timeout time.Duration, what string, cond func(*v1beta1.JobStatus) bool) *v1beta1.JobStatus {
	t.Helper()
	return pollJob(t, ns, name, timeout, 20*time.Millisecond, what, cond)
}

func savepointInFlight(j *v1beta1.JobStatus, reason v1beta1.SavepointReason) bool {
	return j.Savepoint != nil && j.Savepoint.Reason == reason && j.Savepoint.State == v1beta1.SavepointStateInProgress
}

// TestLeaderFailover runs two operator replicas with leader election. Only the leader acts.
// SIGKILLing the leader in the middle of a requested savepoint, and later in the middle of an
// update's stop-with-savepoint, hands over within the lease duration, and each operation
// completes exactly once: one Flink job per attempt, every savepoint Flink wrote counted once in
// status, the same trigger ID before and after the takeover.
func TestLeaderFailover(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	pauseSuiteOperator(t)
	const lease = "flink-operator-failover"
	args := func(identity string) []string { return namespacedLeaderArgs(ns, lease, identity) }
	a := startOperatorProcess(t, "it-failover-a", args("it-failover-a")...)
	waitFor(t, 60*time.Second, "a to lead", func() bool {
		h, _, _, _ := leaseRecord(t, ns, lease)
		return h == a.name
	})
	b := startOperatorProcess(t, "it-failover-b", args("it-failover-b")...)
	waitStandby(t, b)
	code, body := a.probe("/readyz")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok: leading", body)

	_, err := createStrict(ctx, ns, fromYAML(t, savepointJobCluster))
	require.NoError(t, err)
	first := waitJob(t, ns, "counter", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})

	t.Run("only the leader acts", func(t *testing.T) {
		leader, standby := scrape(t, a.metrics), scrape(t, b.metrics)
		assert.Positive(t, leader.sum("flinkoperator_api_writes_total", nil), "the leader wrote")
		assert.Positive(t, leader.sum("flinkoperator_sync_duration_seconds_count", nil), "the leader synced")
		assert.Zero(t, standby.sum("flinkoperator_api_writes_total", nil), "the standby made no API write")
		assert.Zero(t, standby.sum("flinkoperator_sync_duration_seconds_count", nil), "the standby ran no sync")
		assert.Zero(t, standby.sum("flinkoperator_flink_rest_requests_total", nil), "the standby made no Flink call")
		assert.Empty(t, standby.series("flinkcluster_job_state", nil), "per-cluster series come from the leader only")
		assert.Positive(t, standby.sum("workqueue_depth", map[string]string{"name": "flinkcluster"}),
			"the standby's informers queue the key; no worker takes it")
		log := b.logText(t)
		assert.NotContains(t, log, "Controller started")
		assert.NotContains(t, log, "Job transition")
		assert.Contains(t, a.logText(t), "Started leading")
		code, _ := b.probe("/healthz")
		assert.Equal(t, http.StatusOK, code, "a standby with keys queued is live")
	})

	// A user savepoint; the leader dies once its intent (the trigger ID) is in status.
	patchJob(t, ns, "counter", `{"savepointGeneration":1}`)
	sp := waitJobFast(t, ns, "counter", 30*time.Second, "the savepoint to be in flight", func(j *v1beta1.JobStatus) bool {
		return savepointInFlight(j, v1beta1.SavepointReasonUser)
	})
	killLeader(t, ns, lease, a, b)
	afterSavepoint := waitJob(t, ns, "counter", 60*time.Second, "the savepoint to complete under the new leader", func(j *v1beta1.JobStatus) bool {
		return j.SavepointGeneration >= 1 && j.State == v1beta1.JobStateRunning
	})
	assert.Equal(t, int32(1), afterSavepoint.SavepointGeneration)
	assert.Equal(t, first.ID, afterSavepoint.ID, "the job was not restarted")
	require.NotEmpty(t, afterSavepoint.SavepointHistory)
	assert.Equal(t, sp.Savepoint.TriggerID, afterSavepoint.SavepointHistory[0].TriggerID, "the new leader finished the same request")
	assert.Equal(t, v1beta1.SavepointStateSucceeded, afterSavepoint.SavepointHistory[0].State)
	assert.Contains(t, b.logText(t), "Started leading")

	// The killed replica comes back as the standby; then the new leader dies during an update.
	require.NoError(t, a.Start())
	waitStandby(t, a)
	assert.Zero(t, scrape(t, a.metrics).sum("flinkoperator_api_writes_total", nil), "the restarted replica stands by without writing")
	patchJob(t, ns, "counter", `{"parallelism":2}`)
	update := waitJobFast(t, ns, "counter", 30*time.Second, "the update's savepoint to be in flight", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateUpdating && savepointInFlight(j, v1beta1.SavepointReasonUpdate)
	})
	killLeader(t, ns, lease, b, a)
	final := waitJob(t, ns, "counter", 90*time.Second, "the updated job to run under the new leader", func(j *v1beta1.JobStatus) bool {
		return j.ID != first.ID && j.State == v1beta1.JobStateRunning && j.FlinkJobState == "RUNNING"
	})

	fc := getFC(t, ns, "counter")
	assert.Equal(t, int32(2), final.Attempt, "one new attempt for the update")
	assert.Equal(t, fsm.JobID(string(fc.UID), 2), final.ID)
	assert.Equal(t, int32(0), final.RestartCount)
	assert.Equal(t, int32(2), final.SavepointGeneration)
	require.Len(t, final.SavepointHistory, 2)
	assert.Equal(t, update.Savepoint.TriggerID, final.SavepointHistory[0].TriggerID, "the new leader finished the same update savepoint")
	assert.Equal(t, v1beta1.SavepointReasonUpdate, final.SavepointHistory[0].Reason)
	assert.Equal(t, final.SavepointHistory[0].Location, final.FromSavepoint, "resumed from the update's savepoint")

	sim := simState(t, ns, "counter")
	require.Len(t, sim.Jobs, int(final.Attempt), "one Flink job per attempt: nothing submitted twice")
	savepoints := 0
	for i, j := range sim.Jobs {
		assert.Equal(t, fsm.JobID(string(fc.UID), int32(i+1)), j.ID)
		savepoints += len(j.Savepoints)
	}
	assert.Equal(t, int(final.SavepointGeneration), savepoints, "every savepoint Flink wrote is counted once in status")

	// A graceful stop releases the Lease at once.
	a.Stop()
	h, _, _, _ := leaseRecord(t, ns, lease)
	assert.Empty(t, h, "SIGTERM releases the Lease")
}

// TestLosingTheLeaseEndsTheProcess: a leader whose Lease another replica took (after a network
// partition, say) must stop acting and exit at once, so that Kubernetes restarts it as a standby.
// Until 79e831f it stopped its workers but hung in the informers' shutdown, alive and not
// leading, for as long as nothing killed it.
func TestLosingTheLeaseEndsTheProcess(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	pauseSuiteOperator(t)
	const lease, identity = "flink-operator-lost", "it-lost"
	op := startOperatorProcess(t, identity, namespacedLeaderArgs(ns, lease, identity)...)
	_, err := createStrict(ctx, ns, fromYAML(t, minimalJobCluster))
	require.NoError(t, err)
	waitJob(t, ns, "minimal", 90*time.Second, "the job to run under the leader", func(j *v1beta1.JobStatus) bool {
		return j.State == v1beta1.JobStateRunning
	})

	// Another replica takes the Lease as if this one's had expired. The leader renews every
	// retry period, so the write may conflict with a renewal: read again and retake, as a real
	// contender would.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		l, err := env.kube.CoordinationV1().Leases(ns).Get(ctx, lease, metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, identity, ptr.Deref(l.Spec.HolderIdentity, ""))
		now := metav1.NewMicroTime(time.Now())
		l.Spec.HolderIdentity, l.Spec.AcquireTime, l.Spec.RenewTime = ptr.To("someone-else"), &now, &now
		_, err = env.kube.CoordinationV1().Leases(ns).Update(ctx, l, metav1.UpdateOptions{})
		return err
	})
	require.NoError(t, err)
	taken := time.Now()

	// It finds the other holder at its next renewal (a retry period); exiting then takes only the
	// shutdown of its servers and informers. The bound is far from both: without the fix the
	// process never exits.
	exited, code := op.Exited(testLeaseDuration + 10*time.Second)
	require.True(t, exited, "the process exits after losing its Lease")
	t.Logf("exited %s after the Lease was taken, code %d", time.Since(taken).Round(time.Millisecond), code)
	assert.Equal(t, 1, code, "a lost Lease is a failure: the container restarts")
	assert.Contains(t, op.logText(t), "lost leadership")
	h, _, _, _ := leaseRecord(t, ns, lease)
	assert.Equal(t, "someone-else", h, "the old leader left the new holder's Lease alone")
}
