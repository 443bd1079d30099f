package shard

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
)

// Expired reports whether the process that held lease has stopped acting by now: nobody holds
// it (released on shutdown), or its holder did not renew it within its duration. A leader that
// cannot renew stops leading before then (its renew deadline is shorter than the duration).
func Expired(lease *coordinationv1.Lease, now time.Time) bool {
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		return true
	}
	if lease.Spec.RenewTime == nil || lease.Spec.LeaseDurationSeconds == nil {
		return true
	}
	end := lease.Spec.RenewTime.Add(time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second)
	return !now.Before(end)
}
