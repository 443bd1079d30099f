package fsm

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

func TestNotices(t *testing.T) {
	reasons := func(ns []Notice) []string {
		var out []string
		for _, n := range ns {
			out = append(out, n.Reason)
		}
		return out
	}
	overdue := func() Input {
		in := stopping(Updating, v1beta1.SavepointReasonUpdate)
		in.Status.Savepoint.StartTime = at(-11 * time.Minute)
		return in
	}
	tests := []struct {
		name    string
		in      Input
		want    []string
		warning bool
		message string
	}{
		{"a stop marked overdue", overdue(), []string{NoticeStopOverdue}, true, "has not confirmed this stop within 10m0s"},
		{"an overdue stop polled again", func() Input { in := overdue(); in.Status = Step(in).Status; return in }(), nil, false, ""},
		{"a stop confirmed from the history", history(forgotten(stopped(stopping(Cancelling, v1beta1.SavepointReasonCancel))), 8, "/sp/8"),
			[]string{NoticeSavepointConfirmed}, false, "savepoint /sp/8 confirmed from the job's checkpoint history (checkpoint 8)"},
		{"a stop confirmed by its trigger", func() Input {
			in := stopping(Cancelling, v1beta1.SavepointReasonCancel)
			in.Savepoint = SavepointObservation{Polled: true, Done: true, Location: "/sp/9"}
			return in
		}(), nil, false, ""},
		{"an unconfirmed update", history(forgotten(stopped(stopping(Updating, v1beta1.SavepointReasonUpdate))), 7, "/sp/7"),
			[]string{NoticeStopUnconfirmed}, true, "not resubmitted from the older savepoint /sp/older"},
		{"an unconfirmed final savepoint", history(forgotten(stopped(stopping(Deleting, v1beta1.SavepointReasonDelete))), 7, "/sp/7"),
			[]string{NoticeStopUnconfirmed}, true, "shows no savepoint after checkpoint 7"},
		{"a savepoint taken outside the operator", func() Input {
			in := history(input(Running), 12, "/sp/ui")
			in.Flink.State = "FINISHED"
			return in
		}(), []string{NoticeExternalSavepoint}, false, "recorded savepoint /sp/ui, taken outside the operator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := Notices(tt.in.Status, Step(tt.in).Status)
			assert.Equal(t, tt.want, reasons(ns))
			if len(ns) > 0 {
				assert.Equal(t, tt.warning, ns[0].Warning)
				assert.Contains(t, ns[0].Message, tt.message)
			}
		})
	}
	t.Run("the same external savepoint twice is one notice", func(t *testing.T) {
		st := v1beta1.JobStatus{SavepointHistory: []v1beta1.SavepointOperation{{Reason: v1beta1.SavepointReasonExternal, Location: "/sp/ui"}}}
		assert.Empty(t, Notices(st, st))
	})
}
