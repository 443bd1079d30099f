package shard

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
)

// Sighting is when this process first saw a Lease in its current version (resourceVersion, which
// every renewal changes).
type Sighting struct {
	Version string
	Since   time.Time
}

// Gone reports whether the process that held lease has stopped acting: nobody holds it (released
// on shutdown, after the holder's syncs drained), or it has not changed since this process first
// saw it, a whole lease duration ago by this process's own clock. The holder's RenewTime is never
// compared with this clock: nodes' clocks differ, and a skew would end a live holder's lease
// early. A leader that cannot renew stops leading before its lease duration is over (its renew
// deadline is shorter). seen is the previous sighting of this Lease (zero: none); the returned
// one replaces it.
func Gone(lease *coordinationv1.Lease, seen Sighting, now time.Time) (bool, Sighting) {
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		return true, Sighting{}
	}
	if seen.Version != lease.ResourceVersion || seen.Since.IsZero() {
		return false, Sighting{Version: lease.ResourceVersion, Since: now}
	}
	duration := 15 * time.Second // client-go's default, should a Lease not say
	if lease.Spec.LeaseDurationSeconds != nil {
		duration = time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second
	}
	return now.Sub(seen.Since) >= duration, seen
}
