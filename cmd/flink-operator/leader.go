package main

import (
	"context"
	"errors"
	"sync"

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

// runWithLeaderElection runs lead only while this replica holds the Lease. On SIGTERM (ctx done)
// lead's context is cancelled first; the Lease is released only once lead has returned, that is
// once its in-flight syncs finished, so that a standby (or a shard taking this one's clusters
// over) never acts while they drain.
//
// client-go releases the Lease as soon as the election's context ends, without waiting for the
// OnStartedLeading callback; so the election runs on its own context, ended by stopElection after
// lead returned.
func runWithLeaderElection(ctx context.Context, opts options, kube kubernetes.Interface, probes *probes, lead func(context.Context)) error {
	logger := klog.FromContext(ctx)
	leaseName := shard.LeaseName(opts.leaderElectionID, opts.shard)
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: opts.leaderElectionNS, Name: leaseName},
		Client:     kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: opts.leaderElectionHolder},
	}
	electionCtx, stopElection := context.WithCancel(context.WithoutCancel(ctx))
	defer stopElection()
	leading := &leadTracker{}
	go func() {
		<-ctx.Done()
		leading.waitAndRefuse()
		stopElection()
	}()
	lost := false
	leaderelection.RunOrDie(electionCtx, leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   opts.leaseDuration,
		RenewDeadline:   opts.renewDeadline,
		RetryPeriod:     opts.retryPeriod,
		ReleaseOnCancel: true,
		Name:            leaseName,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leaderCtx context.Context) {
				if !leading.start() {
					return // SIGTERM came first
				}
				defer leading.done()
				logger.Info("Started leading", "identity", opts.leaderElectionHolder)
				probes.setLeading(true)
				// Ends on SIGTERM or when the Lease is lost, whichever comes first.
				runCtx, cancel := context.WithCancel(leaderCtx)
				defer cancel()
				defer context.AfterFunc(ctx, cancel)()
				lead(runCtx)
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

// leadTracker lets the shutdown wait for a running lead callback, and keeps one from starting
// after the shutdown began.
type leadTracker struct {
	mu       sync.Mutex
	refused  bool
	finished chan struct{}
}

// start reports whether lead may run; done must follow a true.
func (l *leadTracker) start() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.refused {
		return false
	}
	l.finished = make(chan struct{})
	return true
}

func (l *leadTracker) done() { close(l.finished) }

// waitAndRefuse waits for a running lead to return and refuses any later one.
func (l *leadTracker) waitAndRefuse() {
	l.mu.Lock()
	l.refused = true
	finished := l.finished
	l.mu.Unlock()
	if finished != nil {
		<-finished
	}
}
