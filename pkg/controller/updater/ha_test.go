package updater

import (
	"context"
	"errors"
	"strings"
	"testing"

	kubefake "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/fake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/decide"
	"github.com/flink-operator/flink-operator/pkg/controller/snapshot"
	flinkfake "github.com/flink-operator/flink-operator/pkg/flinkclient/fake"
)

const haJM = "http://c-jobmanager.ns.svc:8081"

// TestCleanUpHA: a JobManager that does not take the shutdown request is reported with the blob
// store to remove by hand, and the cleanup goes on: the JobManager is deleted in the foreground
// and the ConfigMaps are deleted; one already gone is no error.
func TestCleanUpHA(t *testing.T) {
	fc := &v1beta1.FlinkCluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c", UID: "uid"},
		Spec: v1beta1.FlinkClusterSpec{HighAvailability: &v1beta1.HighAvailabilitySpec{Type: v1beta1.HighAvailabilityKubernetes, StorageDir: ptrTo("s3://b/ha")}}}
	jm := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c-jobmanager", UID: "jm-uid"}}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "flink-uid-cluster-config-map", UID: "cm-uid"}}
	kube := kubefake.NewSimpleClientset(jm, cm)
	rest := flinkfake.New()
	rest.Inject(flinkfake.Fault{BaseURL: haJM, Path: "/cluster", Err: errors.New("connection refused")})
	recorder := record.NewFakeRecorder(10)
	u := New(kube, nil, rest, recorder)

	require.NoError(t, u.CleanUpHA(context.Background(), fc, jm, decide.HACleanup{ShutDownFlink: haJM, DeleteJobManager: true}))
	events := drain(recorder)
	assert.Contains(t, events, "Warning HAShutdownFailed Flink could not be asked to delete its HA blob store (")
	assert.Contains(t, events, "remove s3://b/ha/flink-uid by hand")
	_, err := kube.AppsV1().Deployments("ns").Get(context.Background(), "c-jobmanager", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the JobManager is deleted all the same")
	var policy metav1.DeletionPropagation
	for _, a := range kube.Actions() {
		if d, ok := a.(interface{ GetDeleteOptions() metav1.DeleteOptions }); ok && a.GetResource().Resource == "deployments" {
			policy = *d.GetDeleteOptions().PropagationPolicy
		}
	}
	assert.Equal(t, metav1.DeletePropagationForeground, policy, "its pods go first")

	cms := []snapshot.HAConfigMap{{Name: cm.Name, UID: "cm-uid"}, {Name: "flink-uid-gone-config-map", UID: "x"}}
	require.NoError(t, u.CleanUpHA(context.Background(), fc, nil, decide.HACleanup{ConfigMaps: cms, PodsMayRun: true}))
	_, err = kube.CoreV1().ConfigMaps("ns").Get(context.Background(), cm.Name, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err))
	events = drain(recorder)
	assert.Contains(t, events, "Normal HAConfigMapsDeleted Deleted 1 HA ConfigMaps of cluster ID flink-uid: flink-uid-cluster-config-map")
	assert.Contains(t, events, "Warning HAJobManagersOutlivedDeadline JobManager pods still exist past the deletion's deadline",
		"pods that outlived the deadline are reported with the command to finish by hand")
	assert.Contains(t, events, "kubectl delete configmap -n ns -l app=flink-uid,type=flink-native-kubernetes")
}

func drain(r *record.FakeRecorder) string {
	var all []string
	for len(r.Events) > 0 {
		all = append(all, <-r.Events)
	}
	return strings.Join(all, "\n")
}

func ptrTo[T any](v T) *T { return &v }
