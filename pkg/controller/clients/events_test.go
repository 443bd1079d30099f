package clients

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kubefake "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/fake"
)

// TestEventSink: each event is written in its own namespace; a repeat is a patch of the count.
func TestEventSink(t *testing.T) {
	kube := kubefake.NewSimpleClientset()
	sink := EventSink{Events: kube.CoreV1()}
	event := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "counter.1"}, Reason: "JobSubmitted", Count: 1}

	_, err := sink.Create(event)
	require.NoError(t, err)
	_, err = sink.Patch(event, []byte(`{"count":2}`))
	require.NoError(t, err)
	stored, err := kube.CoreV1().Events("team-a").Get(context.Background(), "counter.1", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), stored.Count)

	stored.Message = "updated"
	_, err = sink.Update(stored)
	require.NoError(t, err)
	stored, err = kube.CoreV1().Events("team-a").Get(context.Background(), "counter.1", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "updated", stored.Message)
}
