// Package leader elects one replica of the operator (or of one shard) through a Lease, and runs the
// replica's work only while it holds it.
//
// It replaces client-go's leaderelection package, which imports client-go's clientset and so every
// API group Kubernetes has (package clients says why the operator avoids that), and whose release
// of the Lease on shutdown does not wait for the leader's work to end. The protocol is the one
// client-go's LeaseLock speaks, so replicas of either kind see each other's Leases correctly:
// holderIdentity names the leader, which renews renewTime every retry period; a candidate takes the
// Lease over once it has seen it unchanged for leaseDurationSeconds by its own clock
// (shard.Gone), or at once when it is released (holderIdentity empty).
package leader

import (
	"context"
	"errors"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/controller/shard"
	leasesclient "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/typed/coordination/v1"
)

// ErrLost is returned by Run when another replica took the Lease, or this one could not renew it
// within the renew deadline, while it led.
var ErrLost = errors.New("lost leadership")

// Config says which Lease to hold, as whom, and how often.
type Config struct {
	Leases    leasesclient.LeasesGetter
	Namespace string
	Name      string
	Identity  string
	// LeaseDuration is how long a candidate waits on an unchanged Lease before taking it over.
	LeaseDuration time.Duration
	// RenewDeadline is how long the leader keeps failing to renew before it stops leading; it is
	// shorter than LeaseDuration, so the leader has stopped before a candidate may take over.
	RenewDeadline time.Duration
	// RetryPeriod is the interval between attempts to acquire, and between renewals.
	RetryPeriod time.Duration
	// Now is the clock (time.Now outside tests).
	Now func() time.Time
	// OnLeading is told when this replica starts (true) and stops (false) leading.
	OnLeading func(bool)
}

// Run waits until this replica holds the Lease, then runs lead with a context that ends when ctx
// ends or the Lease is lost, renewing the Lease meanwhile. Once lead has returned (its work
// drained), it releases the Lease, so that no other replica acts while this one still does. It
// returns nil when ctx ended, ErrLost when the Lease was lost.
func Run(ctx context.Context, c Config, lead func(context.Context)) error {
	logger := klog.FromContext(ctx).WithValues("lease", c.Namespace+"/"+c.Name, "identity", c.Identity)
	ctx = klog.NewContext(ctx, logger)
	held, since, err := c.acquire(ctx)
	if err != nil {
		return nil // ctx ended before this replica led
	}
	if ctx.Err() != nil { // SIGTERM as the Lease was won: nothing to drain
		c.release(ctx, held)
		return nil
	}
	logger.Info("Started leading")
	if c.OnLeading != nil {
		c.OnLeading(true)
		defer c.OnLeading(false)
	}

	// lead stops on SIGTERM or when the Lease is lost. After SIGTERM the renewals go on until
	// lead has returned, so that while its syncs drain no standby sees the Lease go stale.
	leadCtx, stopLeading := context.WithCancel(ctx)
	defer stopLeading()
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		lead(leadCtx)
	}()
	held, lost := c.renewUntil(context.WithoutCancel(ctx), held, since, finished)
	stopLeading()
	if lost {
		// Another replica may act from now on: return at once, without waiting for lead's
		// in-flight syncs, so that the process ends them by exiting.
		logger.Info("Stopped leading: the Lease was lost")
		return ErrLost
	}
	<-finished
	c.release(ctx, held)
	logger.Info("Stopped leading: released the Lease")
	return nil
}

// acquire tries every retry period, with jitter, until this replica holds the Lease or ctx ends.
// It returns the Lease and when the winning write was sent: the renew deadline counts from then.
func (c Config) acquire(ctx context.Context) (*coordinationv1.Lease, time.Time, error) {
	var seen shard.Sighting
	var holder string
	for {
		sent := c.Now()
		lease, sighting, err := c.tryAcquire(ctx, seen)
		switch {
		case err != nil:
			klog.FromContext(ctx).Error(err, "Acquiring the Lease; retrying")
		case lease != nil && isHeldBy(lease, c.Identity):
			return lease, sent, nil
		case lease != nil && holderOf(lease) != holder:
			holder = holderOf(lease)
			klog.FromContext(ctx).Info("Standing by", "leader", holder)
		}
		seen = sighting
		select {
		case <-ctx.Done():
			return nil, time.Time{}, ctx.Err()
		case <-time.After(wait.Jitter(c.RetryPeriod, 1.2)):
		}
	}
}

// tryAcquire makes one attempt: it creates the Lease, renews it, or takes it over, as Claim
// decides. It returns the Lease as it now is (held by this replica when the attempt won) and the
// sighting to pass to the next attempt.
func (c Config) tryAcquire(ctx context.Context, seen shard.Sighting) (*coordinationv1.Lease, shard.Sighting, error) {
	ctx, cancel := context.WithTimeout(ctx, c.RenewDeadline)
	defer cancel()
	leases := c.Leases.Leases(c.Namespace)
	current, err := leases.Get(ctx, c.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		created, err := leases.Create(ctx, c.claim(nil), metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil, seen, nil // another replica created it first: look again next time
		}
		return created, seen, err
	}
	if err != nil {
		return nil, seen, err
	}
	take, sighting := Claim(current, c.Identity, seen, c.Now())
	if !take {
		return current, sighting, nil
	}
	updated, err := leases.Update(ctx, c.claim(current), metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		// It changed under us (a live holder, or a rival): not won, even if the copy read
		// named this replica; look again next time.
		return nil, shard.Sighting{}, nil
	}
	return updated, shard.Sighting{}, err
}

// Claim reports whether identity may write itself into lease now: it holds it already, or the
// holder is gone (shard.Gone). seen and the returned sighting are as for shard.Gone.
func Claim(lease *coordinationv1.Lease, identity string, seen shard.Sighting, now time.Time) (bool, shard.Sighting) {
	if isHeldBy(lease, identity) {
		return true, shard.Sighting{}
	}
	return shard.Gone(lease, seen, now)
}

// claim is the Lease with this replica as its holder, renewed now: current updated (a new
// acquisition when another held it), or a new Lease when current is nil.
func (c Config) claim(current *coordinationv1.Lease) *coordinationv1.Lease {
	now := metav1.NewMicroTime(c.Now())
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: c.Namespace, Name: c.Name}}
	if current != nil {
		lease = current.DeepCopy()
	}
	if !isHeldBy(lease, c.Identity) {
		if current != nil {
			transitions := ptr.Deref(lease.Spec.LeaseTransitions, 0) + 1
			lease.Spec.LeaseTransitions = &transitions
		}
		lease.Spec.HolderIdentity = &c.Identity
		lease.Spec.AcquireTime = &now
	}
	// Rounded up: a Lease counts whole seconds, and a shorter one would let a candidate take
	// over before this replica's renew deadline.
	seconds := int32((c.LeaseDuration + time.Second - 1) / time.Second)
	lease.Spec.LeaseDurationSeconds = &seconds
	lease.Spec.RenewTime = &now
	return lease
}

// renewUntil renews the Lease every retry period until finished closes (false) or the Lease is
// lost (true): another replica holds it, or no renewal succeeded within the renew deadline. The
// deadline counts from when the last successful write was sent (since, at first), which is before
// any other replica can have seen it; each attempt may take only what is left of it, and the wait
// before the next one never outlasts it. So this replica stops leading at most the renew deadline
// after a write that other replicas count the lease duration from. It returns the Lease as last
// written.
func (c Config) renewUntil(ctx context.Context, held *coordinationv1.Lease, since time.Time, finished <-chan struct{}) (*coordinationv1.Lease, bool) {
	deadline := since.Add(c.RenewDeadline)
	for {
		select {
		case <-finished:
			return held, false
		case <-time.After(min(c.RetryPeriod, deadline.Sub(c.Now()))):
		}
		sent := c.Now()
		attemptCtx, cancel := context.WithTimeout(ctx, deadline.Sub(sent))
		renewed, err := c.writeIfHeld(attemptCtx, held, c.claim)
		cancel()
		switch {
		case err == nil:
			held, deadline = renewed, sent.Add(c.RenewDeadline)
		case errors.Is(err, errTaken):
			klog.FromContext(ctx).Info("Another replica holds the Lease", "leader", holderOf(renewed))
			return held, true
		case !c.Now().Before(deadline):
			klog.FromContext(ctx).Error(err, "Could not renew the Lease within the renew deadline", "deadline", c.RenewDeadline)
			return held, true
		default:
			klog.FromContext(ctx).Error(err, "Renewing the Lease; retrying")
		}
	}
}

var errTaken = errors.New("the Lease has another holder")

// writeIfHeld writes change(held). After a conflict it reads the Lease again: still this
// replica's (a write it did not see, such as its own earlier renewal that timed out), it writes
// change of that; another holder's, it returns errTaken with that Lease.
func (c Config) writeIfHeld(ctx context.Context, held *coordinationv1.Lease, change func(*coordinationv1.Lease) *coordinationv1.Lease) (*coordinationv1.Lease, error) {
	leases := c.Leases.Leases(c.Namespace)
	written, err := leases.Update(ctx, change(held), metav1.UpdateOptions{})
	if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
		return written, err
	}
	current, err := leases.Get(ctx, c.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%w: it was deleted", errTaken)
	}
	if err != nil {
		return nil, err
	}
	if !isHeldBy(current, c.Identity) {
		return current, errTaken
	}
	return leases.Update(ctx, change(current), metav1.UpdateOptions{})
}

// release empties the holder of the Lease if this replica still holds it, so a Lease another
// replica has taken meanwhile is left alone. ctx may have ended already (SIGTERM): the release
// gets a renew deadline of its own.
func (c Config) release(ctx context.Context, held *coordinationv1.Lease) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.RenewDeadline)
	defer cancel()
	_, err := c.writeIfHeld(ctx, held, func(l *coordinationv1.Lease) *coordinationv1.Lease {
		l = l.DeepCopy()
		empty, oneSecond, now := "", int32(1), metav1.NewMicroTime(c.Now())
		l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.RenewTime = &empty, &oneSecond, &now
		return l
	})
	if err != nil && !errors.Is(err, errTaken) {
		klog.FromContext(ctx).Error(err, "Releasing the Lease; a standby takes over after the lease duration")
	}
}

func holderOf(lease *coordinationv1.Lease) string {
	if lease == nil || lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

func isHeldBy(lease *coordinationv1.Lease, identity string) bool {
	return holderOf(lease) == identity && identity != ""
}
