package main

import (
	"context"
	"errors"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"

	"github.com/flink-operator/flink-operator/pkg/controller/shard"
)

// errLostLeadership ends the process when another replica took over: continuing to act would
// race the new leader.
var errLostLeadership = errors.New("lost leadership")

// runWithLeaderElection runs lead only while this replica holds the Lease. On SIGTERM the Lease
// is released after in-flight syncs finished, so a standby takes over at once.
func runWithLeaderElection(ctx context.Context, opts options, kube kubernetes.Interface, probes *probes, lead func(context.Context)) error {
	logger := klog.FromContext(ctx)
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: opts.leaderElectionNS, Name: shard.LeaseName(opts.leaderElectionID, opts.shard)},
		Client:     kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: opts.leaderElectionHolder},
	}
	lost := false
	leaderelection.RunOrDie(ctx, leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   opts.leaseDuration,
		RenewDeadline:   opts.renewDeadline,
		RetryPeriod:     opts.retryPeriod,
		ReleaseOnCancel: true,
		Name:            shard.LeaseName(opts.leaderElectionID, opts.shard),
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				logger.Info("Started leading", "identity", opts.leaderElectionHolder)
				probes.setLeading(true)
				lead(ctx)
			},
			OnStoppedLeading: func() {
				probes.setLeading(false)
				if ctx.Err() == nil {
					lost = true
				}
				logger.Info("Stopped leading", "identity", opts.leaderElectionHolder)
			},
			OnNewLeader: func(identity string) {
				if identity != opts.leaderElectionHolder {
					logger.Info("Standing by", "leader", identity)
				}
			},
		},
	})
	if lost {
		return errLostLeadership
	}
	return nil
}
