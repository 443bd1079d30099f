//go:build integration

package integration

import (
	"context"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// maxWorkerStall mirrors cmd/flink-operator's: how long keys may wait with no worker progress
// before a leader's liveness fails.
const maxWorkerStall = time.Minute

// impersonatingKubeconfig writes a copy of the suite's kubeconfig that acts as user.
func impersonatingKubeconfig(t *testing.T, user string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(env.kubeconfig)
	require.NoError(t, err)
	ctx, ok := cfg.Contexts[cfg.CurrentContext]
	require.True(t, ok, "kubeconfig has no current context")
	auth := cfg.AuthInfos[ctx.AuthInfo].DeepCopy()
	auth.Impersonate = user
	cfg.AuthInfos[ctx.AuthInfo] = auth
	path := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, path))
	return path
}

// holdLease makes the test the leader: it creates the Lease for holder and renews it until the
// returned function is called, which stops renewing without releasing (as a crashed leader).
func holdLease(t *testing.T, ns, name, holder string) (stop func()) {
	t.Helper()
	ctx := context.Background()
	now := metav1.NewMicroTime(time.Now())
	_, err := env.kube.CoordinationV1().Leases(ns).Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(holder), LeaseDurationSeconds: ptr.To(int32(testLeaseDuration.Seconds())),
			AcquireTime: &now, RenewTime: &now, LeaseTransitions: ptr.To(int32(0))},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-quit:
				return
			case <-time.After(testRetryPeriod):
			}
			l, err := env.kube.CoordinationV1().Leases(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != holder {
				t.Errorf("the test lost its Lease: %v", err)
				return
			}
			l.Spec.RenewTime = ptr.To(metav1.NewMicroTime(time.Now()))
			_, _ = env.kube.CoordinationV1().Leases(ns).Update(ctx, l, metav1.UpdateOptions{})
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { close(quit); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// TestStandbyHealthAndTakeover runs one operator replica that watches one namespace, under an
// identity that holds only the deploy/ ClusterRole bound in that namespace (and the Lease).
// /readyz fails until its caches synced; while another holder has the Lease it is a ready
// standby that stays live for longer than the stall limit with a key queued, and makes no
// writes; when that holder stops renewing it takes over and runs the job.
func TestStandbyHealthAndTakeover(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	pauseSuiteOperator(t)
	const lease, identity = "flink-operator-health", "it-health"
	const sa = "it-health-operator"

	// Only the Lease for now: the informers cannot list.
	_, err := env.kube.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "leader-election"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	bind := func(name, kind, role string) {
		_, err := env.kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: kind, Name: role},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: ns}},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	bind("leader-election", "Role", "leader-election")

	// A job cluster waits before the operator starts; another replica (the test) leads.
	_, err = createStrict(ctx, ns, fromYAML(t, minimalJobCluster))
	require.NoError(t, err)
	stopLeading := holdLease(t, ns, lease, "someone-else")

	kubeconfig := impersonatingKubeconfig(t, "system:serviceaccount:"+ns+":"+sa)
	op := startOperatorProcess(t, "it-health", append(append(operatorArgs(kubeconfig), "--namespace="+ns, "--cache-sync-timeout=2m"),
		leaderElectionArgs(ns, lease, identity)...)...)

	t.Run("readyz fails until the caches synced", func(t *testing.T) {
		waitFor(t, 30*time.Second, "the health server", func() bool { code, _ := op.probe("/healthz"); return code != 0 })
		for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
			code, body := op.probe("/readyz")
			assert.Equal(t, http.StatusServiceUnavailable, code)
			assert.Equal(t, "informer caches not synced", body)
			code, _ = op.probe("/healthz")
			assert.Equal(t, http.StatusOK, code, "syncing caches is no reason to restart")
		}
		// The deploy/ ClusterRole, bound in this namespace only: enough for --namespace.
		bind("flink-operator", "ClusterRole", "flink-operator")
		waitStandby(t, op)
	})

	t.Run("a standby stays live with keys queued", func(t *testing.T) {
		m := scrape(t, op.metrics)
		require.Positive(t, m.sum("workqueue_depth", map[string]string{"name": "flinkcluster"}), "the FlinkCluster's key waits in the standby's queue")
		deadline := time.Now().Add(maxWorkerStall + 10*time.Second)
		for time.Now().Before(deadline) {
			code, body := op.probe("/healthz")
			require.Equal(t, http.StatusOK, code, "a standby must not fail liveness: %s", body)
			code, body = op.probe("/readyz")
			require.Equal(t, http.StatusOK, code)
			require.Equal(t, "ok: not leading (standby)", body)
			time.Sleep(time.Second)
		}
		m = scrape(t, op.metrics)
		assert.Zero(t, m.sum("flinkoperator_api_writes_total", nil))
		assert.Zero(t, m.sum("flinkoperator_sync_duration_seconds_count", nil))
		assert.Empty(t, getFC(t, ns, "minimal").Status.State, "the standby wrote no status")
	})

	t.Run("takes over when the leader stops renewing", func(t *testing.T) {
		stopLeading()
		stopped := time.Now()
		waitFor(t, 30*time.Second, "the operator to take the Lease", func() bool {
			h, _, _, _ := leaseRecord(t, ns, lease)
			return h == identity
		})
		t.Logf("took over %s after the last renewal stopped", time.Since(stopped).Round(time.Millisecond))
		code, body := op.probe("/readyz")
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "ok: leading", body)
		waitJob(t, ns, "minimal", 90*time.Second, "the job to run", func(j *v1beta1.JobStatus) bool {
			return j.State == v1beta1.JobStateRunning
		})
		code, body = op.probe("/healthz")
		assert.Equal(t, http.StatusOK, code, body)
	})
}
