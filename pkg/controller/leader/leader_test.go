package leader

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clienttesting "k8s.io/client-go/testing"

	"github.com/flink-operator/flink-operator/pkg/controller/shard"
	kubefake "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/fake"
)

// newKube is a fake API server whose Leases carry resourceVersions and refuse an update with a
// stale one, as a real API server does; the fake's tracker alone does neither.
func newKube(leases ...*coordinationv1.Lease) *kubefake.Clientset {
	kube := kubefake.NewSimpleClientset()
	gvr := coordinationv1.SchemeGroupVersion.WithResource("leases")
	var version atomic.Int64
	next := func() string { return strconv.FormatInt(version.Add(1), 10) }
	for _, l := range leases {
		l = l.DeepCopy()
		l.ResourceVersion = next()
		if err := kube.Tracker().Add(l); err != nil {
			panic(err)
		}
	}
	kube.PrependReactor("create", "leases", func(a clienttesting.Action) (bool, runtime.Object, error) {
		l := a.(clienttesting.CreateAction).GetObject().(*coordinationv1.Lease).DeepCopy()
		l.ResourceVersion = next()
		return true, l, kube.Tracker().Create(gvr, l, l.Namespace)
	})
	kube.PrependReactor("update", "leases", func(a clienttesting.Action) (bool, runtime.Object, error) {
		l := a.(clienttesting.UpdateAction).GetObject().(*coordinationv1.Lease).DeepCopy()
		current, err := kube.Tracker().Get(gvr, l.Namespace, l.Name)
		if err != nil {
			return true, nil, err
		}
		if current.(*coordinationv1.Lease).ResourceVersion != l.ResourceVersion {
			return true, nil, apierrors.NewConflict(gvr.GroupResource(), l.Name, errors.New("stale resourceVersion"))
		}
		l.ResourceVersion = next()
		return true, l, kube.Tracker().Update(gvr, l, l.Namespace)
	})
	return kube
}

func lease(holder, version string, seconds int32) *coordinationv1.Lease {
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: "op", Name: "flink-operator", ResourceVersion: version},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &seconds},
	}
}

func TestClaim(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		lease *coordinationv1.Lease
		seen  shard.Sighting
		now   time.Time
		take  bool
	}{
		{"held by this replica: renew", lease("me", "5", 15), shard.Sighting{}, t0, true},
		{"released", lease("", "5", 1), shard.Sighting{}, t0, true},
		{"another holder, first sighting", lease("other", "5", 15), shard.Sighting{}, t0, false},
		{"unchanged for less than its duration", lease("other", "5", 15), shard.Sighting{Version: "5", Since: t0}, t0.Add(14 * time.Second), false},
		{"unchanged for its duration", lease("other", "5", 15), shard.Sighting{Version: "5", Since: t0}, t0.Add(15 * time.Second), true},
		{"renewed since the last sighting", lease("other", "6", 15), shard.Sighting{Version: "5", Since: t0}, t0.Add(time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			take, _ := Claim(tt.lease, "me", tt.seen, tt.now)
			assert.Equal(t, tt.take, take)
		})
	}
}

// config has a retry period short enough for quick tests and a renew deadline long enough that a
// slow, loaded test machine never misses it by accident.
func config(kube *kubefake.Clientset, identity string) Config {
	return Config{Leases: kube.CoordinationV1(), Namespace: "op", Name: "flink-operator", Identity: identity,
		LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 50 * time.Millisecond, Now: time.Now}
}

func holder(t *testing.T, kube *kubefake.Clientset) string {
	l, err := kube.CoordinationV1().Leases("op").Get(context.Background(), "flink-operator", metav1.GetOptions{})
	require.NoError(t, err)
	return holderOf(l)
}

// run starts Run in the background; leading closes when lead starts, and lead then waits for its
// context to end and for drained.
type run struct {
	leading, stopped, drained chan struct{}
	result                    chan error
}

func start(ctx context.Context, c Config) *run {
	r := &run{leading: make(chan struct{}), stopped: make(chan struct{}), drained: make(chan struct{}), result: make(chan error, 1)}
	go func() {
		r.result <- Run(ctx, c, func(ctx context.Context) {
			close(r.leading)
			<-ctx.Done()
			close(r.stopped)
			<-r.drained
		})
	}()
	return r
}

func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting until %s", what)
	}
	var zero T
	return zero
}

// TestLeaseOutlivesTheDrain: on SIGTERM lead's context ends, but the Lease stays held and renewed
// while lead drains its syncs (longer than the lease duration here), and is released only once it
// has returned.
func TestLeaseOutlivesTheDrain(t *testing.T) {
	kube := newKube()
	ctx, sigterm := context.WithCancel(context.Background())
	r := start(ctx, config(kube, "replica-1"))
	await(t, r.leading, "it leads")
	assert.Equal(t, "replica-1", holder(t, kube))

	sigterm()
	await(t, r.stopped, "lead is told to stop")
	before, err := kube.CoordinationV1().Leases("op").Get(context.Background(), "flink-operator", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Never(t, func() bool { return holder(t, kube) != "replica-1" }, 4*time.Second, 50*time.Millisecond,
		"the Lease stays held while the syncs drain")
	after, err := kube.CoordinationV1().Leases("op").Get(context.Background(), "flink-operator", metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotEqual(t, before.ResourceVersion, after.ResourceVersion, "and renewed, so no standby sees it go stale")
	close(r.drained)
	require.NoError(t, await(t, r.result, "Run returns"))
	assert.Empty(t, holder(t, kube), "released once they drained")
}

// TestReleaseAfterAnUnseenRenewal: a renewal that reached the API server but whose answer was
// lost leaves this replica with an old resourceVersion; the release still empties its Lease
// rather than leave standbys waiting for the lease duration.
func TestReleaseAfterAnUnseenRenewal(t *testing.T) {
	kube := newKube()
	ctx, sigterm := context.WithCancel(context.Background())
	c := config(kube, "a")
	c.RetryPeriod = time.Hour // no renewal of its own during the test
	r := start(ctx, c)
	await(t, r.leading, "a leads")
	l, err := kube.CoordinationV1().Leases("op").Get(context.Background(), "flink-operator", metav1.GetOptions{})
	require.NoError(t, err)
	_, err = kube.CoordinationV1().Leases("op").Update(context.Background(), l, metav1.UpdateOptions{}) // the unseen renewal
	require.NoError(t, err)

	sigterm()
	close(r.drained)
	require.NoError(t, await(t, r.result, "Run returns"))
	assert.Empty(t, holder(t, kube))
}

// TestAConflictingClaimIsNotWon: a replica restarted under the same identity reads a Lease that
// names it; if its write conflicts (the Lease changed meanwhile), the attempt is not won.
func TestAConflictingClaimIsNotWon(t *testing.T) {
	kube := newKube(lease("a", "", 15))
	failLeaseUpdates(kube, apierrors.NewConflict(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, "flink-operator", errors.New("modified"))).Store(1)
	won, _, err := config(kube, "a").tryAcquire(context.Background(), shard.Sighting{})
	require.NoError(t, err)
	assert.Nil(t, won)
}

// TestStopBeforeLeadingStartsNothing: a replica told to stop while another holds the Lease
// returns without running lead.
func TestStopBeforeLeadingStartsNothing(t *testing.T) {
	kube := newKube(lease("other", "", 15))
	ctx, sigterm := context.WithCancel(context.Background())
	r := start(ctx, config(kube, "replica-1"))
	time.Sleep(200 * time.Millisecond) // a few attempts
	sigterm()
	require.NoError(t, await(t, r.result, "Run returns"))
	select {
	case <-r.leading:
		t.Fatal("led while another replica held the Lease")
	default:
	}
	assert.Equal(t, "other", holder(t, kube))
}

// TestStandbyTakesOverAfterTheRelease: two replicas; only one leads at a time; the standby leads
// once the leader released the Lease on shutdown, without waiting for the lease duration.
func TestStandbyTakesOverAfterTheRelease(t *testing.T) {
	kube := newKube()
	var leaders atomic.Int32
	var overlap atomic.Bool
	runOne := func(ctx context.Context, identity string, leading chan<- struct{}) chan error {
		result := make(chan error, 1)
		go func() {
			result <- Run(ctx, config(kube, identity), func(ctx context.Context) {
				if leaders.Add(1) > 1 {
					overlap.Store(true)
				}
				leading <- struct{}{}
				<-ctx.Done()
				time.Sleep(100 * time.Millisecond) // draining
				leaders.Add(-1)
			})
		}()
		return result
	}
	leadingA, leadingB := make(chan struct{}, 1), make(chan struct{}, 1)
	ctxA, stopA := context.WithCancel(context.Background())
	resultA := runOne(ctxA, "a", leadingA)
	await(t, leadingA, "a leads")
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	resultB := runOne(ctxB, "b", leadingB)
	time.Sleep(300 * time.Millisecond)
	assert.Equal(t, "a", holder(t, kube), "b stands by while a renews")

	stopA()
	require.NoError(t, await(t, resultA, "a returns"))
	began := time.Now()
	await(t, leadingB, "b leads")
	assert.Less(t, time.Since(began), 3*time.Second, "a released Lease is taken at once, not after the lease duration")
	assert.False(t, overlap.Load(), "never two leaders")
	stopB()
	require.NoError(t, await(t, resultB, "b returns"))
}

// TestStandbyTakesOverAStaleLease: a holder that stopped renewing without releasing (a crash) is
// replaced only after its Lease stayed unchanged for the lease duration.
func TestStandbyTakesOverAStaleLease(t *testing.T) {
	kube := newKube(lease("crashed", "", 1))
	c := config(kube, "b")
	began := time.Now()
	ctx, stop := context.WithCancel(context.Background())
	r := start(ctx, c)
	await(t, r.leading, "b leads")
	assert.GreaterOrEqual(t, time.Since(began), time.Second, "not before the crashed holder's lease duration")
	assert.Equal(t, "b", holder(t, kube))
	stop()
	close(r.drained)
	require.NoError(t, await(t, r.result, "Run returns"))
}

// TestLostWhenAnotherReplicaHoldsTheLease: a leader that finds another holder in its Lease stops
// leading and does not release the other's Lease.
func TestLostWhenAnotherReplicaHoldsTheLease(t *testing.T) {
	kube := newKube()
	r := start(context.Background(), config(kube, "a"))
	await(t, r.leading, "a leads")
	l, err := kube.CoordinationV1().Leases("op").Get(context.Background(), "flink-operator", metav1.GetOptions{})
	require.NoError(t, err)
	other := "b"
	l.Spec.HolderIdentity = &other
	_, err = kube.CoordinationV1().Leases("op").Update(context.Background(), l, metav1.UpdateOptions{})
	require.NoError(t, err)

	await(t, r.stopped, "lead is told to stop")
	assert.ErrorIs(t, await(t, r.result, "Run returns"), ErrLost, "at once, while lead still drains: the process ends it by exiting")
	close(r.drained)
	assert.Equal(t, "b", holder(t, kube), "the other's Lease is left alone")
}

// failLeaseUpdates returns a counter of Lease updates to fail with err (negative: all of them);
// it starts at 0. The fake's reactors may not be added while a client calls it, so this one is
// installed before Run starts and armed later.
func failLeaseUpdates(kube *kubefake.Clientset, err error) *atomic.Int32 {
	remaining := &atomic.Int32{}
	kube.PrependReactor("update", "leases", func(clienttesting.Action) (bool, runtime.Object, error) {
		if remaining.Load() == 0 {
			return false, nil, nil
		}
		remaining.Add(-1)
		return true, nil, err
	})
	return remaining
}

// TestLostWhenRenewalsFailForTheDeadline: a leader that cannot write its Lease stops leading once
// the renew deadline has passed, before a standby could take over (the lease duration).
func TestLostWhenRenewalsFailForTheDeadline(t *testing.T) {
	kube := newKube()
	failures := failLeaseUpdates(kube, apierrors.NewServiceUnavailable("etcd is down"))
	r := start(context.Background(), config(kube, "a"))
	await(t, r.leading, "a leads")
	failing := time.Now()
	failures.Store(-1)

	assert.ErrorIs(t, await(t, r.result, "Run returns"), ErrLost)
	lost := time.Since(failing)
	assert.GreaterOrEqual(t, lost, 2*time.Second-50*time.Millisecond, "not before the renew deadline (counted from the last renewal, up to a retry period before the failures began)")
	assert.Less(t, lost, 3*time.Second, "before a standby could take over (the lease duration)")
	close(r.drained)
}

// TestARenewalThatFailsOnceIsRetried: a failed renewal, or one that conflicts with the leader's
// own earlier write, does not end the leadership.
func TestARenewalThatFailsOnceIsRetried(t *testing.T) {
	for name, err := range map[string]error{
		"unavailable": apierrors.NewServiceUnavailable("etcd is slow"),
		"conflict":    apierrors.NewConflict(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, "flink-operator", errors.New("modified")),
	} {
		t.Run(name, func(t *testing.T) {
			kube := newKube()
			remaining := failLeaseUpdates(kube, err)
			ctx, stop := context.WithCancel(context.Background())
			r := start(ctx, config(kube, "a"))
			await(t, r.leading, "a leads")
			remaining.Store(1)
			require.Eventually(t, func() bool { return remaining.Load() == 0 }, 5*time.Second, 10*time.Millisecond)
			before, getErr := kube.CoordinationV1().Leases("op").Get(context.Background(), "flink-operator", metav1.GetOptions{})
			require.NoError(t, getErr)
			assert.Eventually(t, func() bool {
				l, _ := kube.CoordinationV1().Leases("op").Get(context.Background(), "flink-operator", metav1.GetOptions{})
				return l.ResourceVersion != before.ResourceVersion
			}, 5*time.Second, 10*time.Millisecond, "renewed again")
			select {
			case <-r.stopped:
				t.Fatal("stopped leading after one failed renewal")
			default:
			}
			stop()
			close(r.drained)
			require.NoError(t, await(t, r.result, "Run returns"))
		})
	}
}
