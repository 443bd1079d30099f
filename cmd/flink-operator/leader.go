package main

import (
	"context"
	"time"

	"github.com/flink-operator/flink-operator/pkg/controller/clients"
	"github.com/flink-operator/flink-operator/pkg/controller/leader"
	"github.com/flink-operator/flink-operator/pkg/controller/shard"
)

// runWithLeaderElection runs lead only while this replica holds its Lease (the shard's own, with
// --shard). On SIGTERM (ctx done) lead's context is cancelled first; the Lease is released only
// once lead has returned, that is once its in-flight syncs finished, so that a standby (or a
// shard taking this one's clusters over) never acts while they drain. A lost Lease ends the
// process with leader.ErrLost: continuing to act would race the new leader.
func runWithLeaderElection(ctx context.Context, opts options, kube clients.Kube, probes *probes, lead func(context.Context)) error {
	return leader.Run(ctx, leader.Config{
		Leases:        kube.CoordinationV1(),
		Namespace:     opts.leaderElectionNS,
		Name:          shard.LeaseName(opts.leaderElectionID, opts.shard),
		Identity:      opts.leaderElectionHolder,
		LeaseDuration: opts.leaseDuration,
		RenewDeadline: opts.renewDeadline,
		RetryPeriod:   opts.retryPeriod,
		Now:           time.Now,
		OnLeading:     probes.setLeading,
	}, lead)
}
