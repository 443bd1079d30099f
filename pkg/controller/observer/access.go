package observer

import (
	"context"
	"sort"
	"sync"
	"time"

	authorizationclient "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/typed/authorization/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/snapshot"
)

// HAConfigMapVerbs are what Flink's Kubernetes HA services (1.20 and 2.x) do on ConfigMaps:
// leader retrieval watches them, the leader lock is created, updated and patched, job metadata is
// updated, and a finished job's ConfigMap is deleted.
var HAConfigMapVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete"}

// How long an answer of the API server is reused: a missing permission is asked again soon, so
// that a Role applied afterwards is noticed within a minute; a complete one rarely.
const (
	accessRecheckMissing  = time.Minute
	accessRecheckComplete = 10 * time.Minute
)

// accessReviews asks the API server whether a ServiceAccount may do what Flink's HA services do
// (LocalSubjectAccessReviews: a question, nothing is written), and remembers the answer per
// namespace and ServiceAccount.
type accessReviews struct {
	client authorizationclient.AuthorizationV1Interface
	mu     sync.Mutex
	known  map[string]accessAnswer
}

type accessAnswer struct {
	access snapshot.HAAccess
	at     time.Time
}

// WithAccessReviews makes the observer check, for clusters with high availability, that their
// pods' ServiceAccount has the permissions Flink's HA services need (snapshot.HAAccess).
func (o *Observer) WithAccessReviews(client authorizationclient.AuthorizationV1Interface) *Observer {
	o.access = &accessReviews{client: client, known: map[string]accessAnswer{}}
	return o
}

// haAccess is the answer for the cluster's pods' ServiceAccount, asked again when the last one
// is older than its recheck interval.
func (a *accessReviews) haAccess(ctx context.Context, fc *v1beta1.FlinkCluster, now time.Time) snapshot.HAAccess {
	sa := "default"
	if fc.Spec.ServiceAccountName != nil && *fc.Spec.ServiceAccountName != "" {
		sa = *fc.Spec.ServiceAccountName
	}
	key := fc.Namespace + "/" + sa
	a.mu.Lock()
	prev, ok := a.known[key]
	a.mu.Unlock()
	if ok && now.Sub(prev.at) < recheckAfter(prev.access) {
		return prev.access
	}
	access := a.ask(ctx, fc.Namespace, sa)
	a.mu.Lock()
	a.known[key] = accessAnswer{access: access, at: now}
	a.mu.Unlock()
	return access
}

func recheckAfter(access snapshot.HAAccess) time.Duration {
	if len(access.Missing) > 0 || access.Error != "" {
		return accessRecheckMissing
	}
	return accessRecheckComplete
}

func (a *accessReviews) ask(ctx context.Context, namespace, sa string) snapshot.HAAccess {
	out := snapshot.HAAccess{Checked: true, ServiceAccount: sa}
	user := "system:serviceaccount:" + namespace + ":" + sa
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
	for _, verb := range HAConfigMapVerbs {
		review := &authorizationv1.LocalSubjectAccessReview{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace},
			Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: groups,
				ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: namespace, Verb: verb, Resource: "configmaps"}},
		}
		res, err := a.client.LocalSubjectAccessReviews(namespace).Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			return snapshot.HAAccess{Checked: true, ServiceAccount: sa, Error: err.Error()}
		}
		if !res.Status.Allowed {
			out.Missing = append(out.Missing, verb)
		}
	}
	sort.Strings(out.Missing)
	return out
}
