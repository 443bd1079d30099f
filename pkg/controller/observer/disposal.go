package observer

import (
	"context"
	"errors"
	"sync"

	"k8s.io/klog/v2"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/retention"
	"github.com/flink-operator/flink-operator/pkg/flinkclient"
)

// disposalTriggers remembers, per cluster, the trigger ID Flink gave the savepoint disposal this
// process started (Flink chooses disposal trigger IDs, so status cannot record one before the
// call). A restarted operator has none and triggers the disposal again, which is safe: a second
// disposal of a savepoint that is gone fails with "nothing there", read as disposed. The zero
// value is ready to use.
type disposalTriggers struct {
	mu       sync.Mutex
	triggers map[string]disposalTrigger
}

type disposalTrigger struct {
	location, triggerID string
}

func (d *disposalTriggers) get(key, location string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t, ok := d.triggers[key]; ok && t.location == location {
		return t.triggerID
	}
	return ""
}

func (d *disposalTriggers) set(key, location, triggerID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.triggers == nil {
		d.triggers = map[string]disposalTrigger{}
	}
	d.triggers[key] = disposalTrigger{location: location, triggerID: triggerID}
}

func (d *disposalTriggers) forget(key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.triggers, key)
}

// DisposalStarted records the trigger ID of the disposal of location the sync just triggered.
func (o *Observer) DisposalStarted(fc *v1beta1.FlinkCluster, location, triggerID string) {
	o.disposals.set(fc.Namespace+"/"+fc.Name, location, triggerID)
}

// DisposalInFlight is the location of the savepoint whose disposal status says is in flight.
func DisposalInFlight(st v1beta1.JobStatus) string {
	for _, e := range st.SavepointHistory {
		if e.Disposal != nil && e.Disposal.State == v1beta1.DisposalStateInProgress {
			return e.Location
		}
	}
	return ""
}

// observeDisposal asks the JobManager about the disposal in flight, when this process knows its
// trigger. An unanswered call leaves it unpolled; the next sync asks again.
func (o *Observer) observeDisposal(ctx context.Context, key, jm string, st v1beta1.JobStatus) retention.Observation {
	location := DisposalInFlight(st)
	if location == "" {
		o.disposals.forget(key)
		return retention.Observation{}
	}
	trigger := o.disposals.get(key, location)
	if trigger == "" || jm == "" {
		return retention.Observation{}
	}
	res, err := o.flink.GetDisposalStatus(ctx, jm, trigger)
	switch {
	case errors.Is(err, flinkclient.ErrTriggerNotFound):
		return retention.Observation{Known: true, Polled: true, NotFound: true}
	case err != nil:
		klog.FromContext(ctx).V(2).Info("Cannot read the savepoint disposal's status", "url", jm, "location", location, "err", err)
		return retention.Observation{Known: true}
	}
	switch res.State {
	case flinkclient.OperationCompleted:
		return retention.Observation{Known: true, Polled: true, Done: true}
	case flinkclient.OperationFailed:
		text := failureText(res)
		gone := res.Failure != nil && RestoreSourceMissing(res.Failure.StackTrace)
		return retention.Observation{Known: true, Polled: true, Done: true, Failure: text, Gone: gone}
	}
	return retention.Observation{Known: true, Polled: true}
}
