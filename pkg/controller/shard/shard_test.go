package shard

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
)

func TestDecide(t *testing.T) {
	handingOver := map[string]string{HandoverAnnotation: "a"}
	for _, tc := range []struct {
		name        string
		self        string
		labels      map[string]string
		annotations map[string]string
		want        Step
	}{
		{name: "unsharded cluster, unsharded operator", self: "", want: Act},
		{name: "unsharded cluster, a shard", self: "a", want: Ignore},
		{name: "labelled and owned", self: "a", labels: map[string]string{Label: "a", OwnerLabel: "a"}, want: Act},
		{name: "labelled for another shard: hand over", self: "a", labels: map[string]string{Label: "b", OwnerLabel: "a"}, want: HandOver},
		{name: "label removed: hand over to the unsharded operator", self: "a", labels: map[string]string{OwnerLabel: "a"}, want: HandOver},
		{name: "new cluster labelled for a shard: the unsharded operator hands it over", self: "", labels: map[string]string{Label: "a"}, want: HandOver},
		{name: "labelled for this shard, owner another: claim", self: "b", labels: map[string]string{Label: "b", OwnerLabel: "a"}, want: Claim},
		{name: "labelled for this shard, no owner: claim from the unsharded operator", self: "b", labels: map[string]string{Label: "b"}, want: Claim},
		{name: "handed over to this shard: accept", self: "b", labels: map[string]string{Label: "b", OwnerLabel: "b"}, annotations: handingOver, want: Accept},
		{name: "handed over and relabelled again before acceptance: hand over further", self: "b",
			labels: map[string]string{Label: "c", OwnerLabel: "b"}, annotations: handingOver, want: HandOver},
		{name: "handed over to the unsharded operator: accept", self: "", annotations: handingOver, want: Accept},
		{name: "another shard's, in hand-over to a third", self: "c", labels: map[string]string{Label: "b", OwnerLabel: "b"}, annotations: handingOver, want: Ignore},
		{name: "owned by another, labelled for a third", self: "c", labels: map[string]string{Label: "b", OwnerLabel: "a"}, want: Ignore},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Decide(tc.self, tc.labels, tc.annotations))
		})
	}
}

// TestAtMostOneShardActs checks, over every combination of labels and owners of three shards and
// the unsharded operator, that on one view of a cluster at most one of them acts, accepts or
// hands over, and only its owner. (Stale views are made safe by the resourceVersion every owner
// write carries, tested in the gate's tests.)
func TestAtMostOneShardActs(t *testing.T) {
	shards := []string{"", "a", "b", "c"}
	for _, want := range shards {
		for _, owner := range shards {
			for _, pending := range []bool{false, true} {
				labels := map[string]string{}
				if want != "" {
					labels[Label] = want
				}
				if owner != "" {
					labels[OwnerLabel] = owner
				}
				annotations := map[string]string{}
				if pending {
					annotations[HandoverAnnotation] = "x"
				}
				acting, handing := 0, 0
				for _, self := range shards {
					switch Decide(self, labels, annotations) {
					case Act, Accept:
						acting++
						assert.Equal(t, owner, self, "only the owner acts or accepts (label %q, owner %q)", want, owner)
					case HandOver:
						handing++
						assert.Equal(t, owner, self, "only the owner hands over (label %q, owner %q)", want, owner)
					}
				}
				assert.LessOrEqual(t, acting+handing, 1, "label %q owner %q pending %v", want, owner, pending)
			}
		}
	}
}

func TestGone(t *testing.T) {
	now := time.Date(2026, 12, 4, 7, 0, 0, 0, time.UTC)
	lease := func(holder, version string, renewedAt time.Time) *coordinationv1.Lease {
		return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{ResourceVersion: version},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(holder), LeaseDurationSeconds: ptr.To[int32](15),
				RenewTime: &metav1.MicroTime{Time: renewedAt}}}
	}
	// The holder's clock is an hour behind: its RenewTime says nothing here.
	skewed := now.Add(-time.Hour)

	gone, seen := Gone(lease("op-1", "10", skewed), Sighting{}, now)
	assert.False(t, gone, "first sight: a lease duration must pass on this clock first")
	assert.Equal(t, Sighting{Version: "10", Since: now}, seen)

	gone, seen = Gone(lease("op-1", "11", skewed), seen, now.Add(10*time.Second))
	assert.False(t, gone, "renewed since (a new version), whatever its RenewTime says")
	assert.Equal(t, now.Add(10*time.Second), seen.Since)

	gone, _ = Gone(lease("op-1", "11", skewed), seen, now.Add(24*time.Second))
	assert.False(t, gone, "unchanged for 14 s of a 15 s lease")
	gone, _ = Gone(lease("op-1", "11", skewed), seen, now.Add(25*time.Second))
	assert.True(t, gone, "unchanged for a whole lease duration")

	gone, _ = Gone(lease("", "12", now), seen, now)
	assert.True(t, gone, "released on shutdown")
	gone, _ = Gone(&coordinationv1.Lease{}, Sighting{}, now)
	assert.True(t, gone, "never held")
}

func TestLeaseName(t *testing.T) {
	assert.Equal(t, "flink-operator", LeaseName("flink-operator", ""))
	assert.Equal(t, "flink-operator-a", LeaseName("flink-operator", "a"))
}

func TestStraySelector(t *testing.T) {
	s := StraySelector("a")
	assert.True(t, s.Matches(labels.Set{OwnerLabel: "a", Label: "b"}))
	assert.True(t, s.Matches(labels.Set{OwnerLabel: "a"}), "label removed: owed to the unsharded operator")
	assert.False(t, s.Matches(labels.Set{OwnerLabel: "a", Label: "a"}))
	assert.False(t, s.Matches(labels.Set{OwnerLabel: "b", Label: "c"}))
}

func TestLabels(t *testing.T) {
	in := map[string]string{"x": "y", Label: "a"}
	assert.True(t, Labelled(in, "a"))
	assert.False(t, Labelled(in, ""))
	assert.True(t, Labelled(map[string]string{"x": "y"}, ""))
	assert.Equal(t, map[string]string{"x": "y", Label: "b"}, WithLabel(in, "b"))
	assert.Equal(t, map[string]string{"x": "y"}, WithLabel(in, ""))
	assert.Equal(t, "a", in[Label], "the input is not changed")
}
