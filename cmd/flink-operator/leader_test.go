package main

import (
	"context"
	"testing"
	"time"

	kubefake "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/fake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/controller"
)

func leaseHolder(t *testing.T, kube *kubefake.Clientset, name string) string {
	l, err := kube.CoordinationV1().Leases("op").Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// TestLeaseOutlivesTheSyncsDraining: on SIGTERM the workers drain their syncs (up to
// controller.SyncTimeout); until they have, the shard's own Lease stays held, or a standby, or a
// shard taking this one's clusters over, would act beside them. The leader package has the
// detailed cases; this one checks the wiring: the Lease's name, the probe.
func TestLeaseOutlivesTheSyncsDraining(t *testing.T) {
	kube := kubefake.NewSimpleClientset()
	opts := defaultOptions()
	opts.leaderElect, opts.leaderElectionNS, opts.leaderElectionHolder, opts.shard = true, "op", "replica-1", "a"
	opts.leaseDuration, opts.renewDeadline, opts.retryPeriod = 2*time.Second, time.Second, 100*time.Millisecond
	ctx, sigterm := context.WithCancel(context.Background())
	defer sigterm()
	leading, draining, drained := make(chan struct{}), make(chan struct{}), make(chan struct{})
	result := make(chan error, 1)
	probes := newProbes(&fakeQueue{}, controller.NewHeartbeat(time.Now))
	go func() {
		result <- runWithLeaderElection(ctx, opts, kube, probes, func(ctx context.Context) {
			close(leading)
			<-ctx.Done()
			close(draining)
			<-drained // a sync still writing
		})
	}()
	select {
	case <-leading:
	case <-time.After(10 * time.Second):
		t.Fatal("never led")
	}
	assert.Equal(t, "replica-1", leaseHolder(t, kube, "flink-operator-a"), "the shard's own Lease")

	sigterm()
	<-draining
	assert.Never(t, func() bool { return leaseHolder(t, kube, "flink-operator-a") != "replica-1" }, time.Second, 20*time.Millisecond,
		"the Lease stays held while the syncs drain")
	close(drained)
	select {
	case err := <-result:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("did not return after the syncs drained")
	}
	assert.Empty(t, leaseHolder(t, kube, "flink-operator-a"), "released once they did")
}
