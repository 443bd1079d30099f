package observer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/fake"
	"github.com/stretchr/testify/assert"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/snapshot"
)

// reviewer answers LocalSubjectAccessReviews: allowed verbs are granted, and it counts the
// questions and what they named.
type reviewer struct {
	allowed map[string]bool
	fail    bool
	asked   int
	users   []string
}

func (r *reviewer) client() *fake.Clientset {
	kube := fake.NewSimpleClientset()
	kube.PrependReactor("create", "localsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r.asked++
		review := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.LocalSubjectAccessReview)
		r.users = append(r.users, review.Spec.User+" "+review.Namespace+" "+review.Spec.ResourceAttributes.Resource)
		if r.fail {
			return true, nil, errors.New("the server is currently unable to handle the request")
		}
		review.Status.Allowed = r.allowed[review.Spec.ResourceAttributes.Verb]
		return true, review, nil
	})
	return kube
}

var t0 = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

func haCluster(sa *string) *v1beta1.FlinkCluster {
	return &v1beta1.FlinkCluster{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "c"},
		Spec: v1beta1.FlinkClusterSpec{ServiceAccountName: sa, HighAvailability: &v1beta1.HighAvailabilitySpec{Type: v1beta1.HighAvailabilityKubernetes}}}
}

func TestHAAccessNamesTheMissingVerbs(t *testing.T) {
	r := &reviewer{allowed: map[string]bool{"get": true, "list": true, "watch": true, "create": true, "update": true}}
	a := (&Observer{}).WithAccessReviews(r.client().AuthorizationV1()).access
	got := a.haAccess(context.Background(), haCluster(ptr.To("flink-ha")), t0)
	assert.Equal(t, snapshot.HAAccess{Checked: true, ServiceAccount: "flink-ha", Missing: []string{"delete", "patch"}}, got)
	assert.Equal(t, len(HAConfigMapVerbs), r.asked, "one question per verb")
	assert.Equal(t, "system:serviceaccount:team:flink-ha team configmaps", r.users[0])
}

func TestHAAccessIsAskedAgainOnlyWhenDue(t *testing.T) {
	all := map[string]bool{}
	for _, v := range HAConfigMapVerbs {
		all[v] = true
	}
	cases := []struct {
		name    string
		allowed map[string]bool
		fail    bool
		after   time.Duration
		again   bool
	}{
		{"complete: reused for 10 minutes", all, false, 9 * time.Minute, false},
		{"complete: asked again after 10 minutes", all, false, 10 * time.Minute, true},
		{"missing: asked again after a minute (a Role applied since is noticed)", map[string]bool{}, false, time.Minute, true},
		{"missing: reused within the minute", map[string]bool{}, false, 59 * time.Second, false},
		{"no answer: asked again after a minute", all, true, time.Minute, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &reviewer{allowed: tc.allowed, fail: tc.fail}
			a := (&Observer{}).WithAccessReviews(r.client().AuthorizationV1()).access
			first := a.haAccess(context.Background(), haCluster(nil), t0)
			assert.Equal(t, "default", first.ServiceAccount, "the namespace's default ServiceAccount without serviceAccountName")
			asked := r.asked
			second := a.haAccess(context.Background(), haCluster(nil), t0.Add(tc.after))
			assert.Equal(t, tc.again, r.asked > asked)
			assert.Equal(t, first, second)
		})
	}
}

func TestHAAccessErrorIsReported(t *testing.T) {
	r := &reviewer{fail: true}
	a := (&Observer{}).WithAccessReviews(r.client().AuthorizationV1()).access
	got := a.haAccess(context.Background(), haCluster(nil), t0)
	assert.True(t, got.Checked)
	assert.Contains(t, got.Error, "unable to handle the request")
	assert.Equal(t, 1, r.asked, "the first failure ends the check")
}
