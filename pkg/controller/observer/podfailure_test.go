package observer

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/fake"
	"github.com/stretchr/testify/assert"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"
)

var podT0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func attemptPod(name string, created time.Time, jobUID string, init, main []corev1.ContainerStatus) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, CreationTimestamp: metav1.NewTime(created),
			Labels: map[string]string{jobControllerUIDLabel: jobUID}},
		Status: corev1.PodStatus{InitContainerStatuses: init, ContainerStatuses: main},
	}
}

func terminated(name string, code int32, reason, message string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, Message: message}}}
}

func TestFailureOf(t *testing.T) {
	ok := terminated("wait-for-jobmanager", 0, "Completed", "")
	tests := []struct {
		name string
		pods []corev1.Pod
		want string
	}{
		{"no pods", nil, ""},
		{"the fetch failed", []corev1.Pod{*attemptPod("p1", podT0, "j", []corev1.ContainerStatus{terminated("fetch-job-jar", 1, "Error", "fetching https://x/job.jar (attempt 1 of 4): the file served has sha256:aa")}, nil)},
			"container fetch-job-jar of pod p1: fetching https://x/job.jar (attempt 1 of 4): the file served has sha256:aa"},
		{"no termination message: reason and exit code", []corev1.Pod{*attemptPod("p1", podT0, "j", []corev1.ContainerStatus{ok}, []corev1.ContainerStatus{terminated("submitter", 1, "Error", "")})},
			"container submitter of pod p1: Error, exit code 1"},
		{"the newest pod that says something", []corev1.Pod{
			*attemptPod("old", podT0, "j", nil, []corev1.ContainerStatus{terminated("submitter", 1, "Error", "first")}),
			*attemptPod("new", podT0.Add(time.Minute), "j", nil, []corev1.ContainerStatus{terminated("submitter", 2, "Error", "last")}),
			*attemptPod("running", podT0.Add(2*time.Minute), "j", nil, nil),
		}, "container submitter of pod new: last"},
		{"a long message keeps its end, where the reason is", []corev1.Pod{*attemptPod("p1", podT0, "j", nil, []corev1.ContainerStatus{terminated("submitter", 1, "Error", strings.Repeat("x", 600)+"Caused by: ClassNotFoundException")})},
			"container submitter of pod p1: ..." + strings.Repeat("x", maxPodFailureMessage-len("Caused by: ClassNotFoundException")) + "Caused by: ClassNotFoundException"},
		{"cut on a rune boundary", []corev1.Pod{*attemptPod("p1", podT0, "j", nil, []corev1.ContainerStatus{terminated("submitter", 1, "Error", strings.Repeat("é", 300))})},
			"container submitter of pod p1: ..." + strings.Repeat("é", maxPodFailureMessage/2)},
		{"an image that cannot be pulled", []corev1.Pod{*attemptPod("p1", podT0, "j", []corev1.ContainerStatus{{Name: "fetch-job-jar",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "flink-operator:dev"`}}}}, nil)},
			`container fetch-job-jar of pod p1: ImagePullBackOff: Back-off pulling image "flink-operator:dev"`},
		{"a pod still initializing says nothing", []corev1.Pod{*attemptPod("p1", podT0, "j", []corev1.ContainerStatus{{Name: "fetch-job-jar",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}}}, nil)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, failureOf(tt.pods))
		})
	}
}

// TestPodFailureIsReadOncePerFailedJob: the pods of a failed Job are listed once (not per sync),
// only the Job's own pods count, a list that fails is asked again, and a new failed Job is read anew.
func TestPodFailureIsReadOncePerFailedJob(t *testing.T) {
	client := fake.NewSimpleClientset(
		attemptPod("mine", podT0, "job-1", []corev1.ContainerStatus{terminated("fetch-job-jar", 1, "Error", "digest differs")}, nil),
		attemptPod("other-attempt", podT0.Add(time.Hour), "job-0", []corev1.ContainerStatus{terminated("fetch-job-jar", 1, "Error", "older")}, nil),
	)
	lists, failNext := 0, true
	client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		lists++
		if failNext {
			failNext = false
			return true, nil, errors.New("the API server is unavailable")
		}
		return false, nil, nil
	})
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c-job-submitter", UID: types.UID("job-1")}}
	var p podFailures
	ctx := context.Background()
	assert.Equal(t, "", p.reasonFor(ctx, client.CoreV1(), "ns/c", job), "the list failed")
	want := "container fetch-job-jar of pod mine: digest differs"
	assert.Equal(t, want, p.reasonFor(ctx, client.CoreV1(), "ns/c", job), "asked again after a failed list")
	assert.Equal(t, want, p.reasonFor(ctx, client.CoreV1(), "ns/c", job))
	assert.Equal(t, 2, lists, "listed once once it succeeded")

	next := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c-job-submitter", UID: types.UID("job-2")}}
	assert.Equal(t, "", p.reasonFor(ctx, client.CoreV1(), "ns/c", next), "a new Job's pods are read anew")
	assert.Equal(t, 3, lists)
}
