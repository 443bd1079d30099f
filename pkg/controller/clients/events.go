package clients

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	coreclient "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/typed/core/v1"
)

// eventCallTimeout bounds one call of the event recorder, whose sink interface takes no context:
// a hung API call would otherwise hold every later event back.
const eventCallTimeout = 30 * time.Second

// EventSink writes the event recorder's events (client-go's record.EventSink) through the core/v1
// client, each in its own namespace.
type EventSink struct {
	Events coreclient.EventsGetter
}

func (s EventSink) Create(event *corev1.Event) (*corev1.Event, error) {
	ctx, cancel := context.WithTimeout(context.Background(), eventCallTimeout)
	defer cancel()
	return s.Events.Events(event.Namespace).Create(ctx, event, metav1.CreateOptions{})
}

func (s EventSink) Update(event *corev1.Event) (*corev1.Event, error) {
	ctx, cancel := context.WithTimeout(context.Background(), eventCallTimeout)
	defer cancel()
	return s.Events.Events(event.Namespace).Update(ctx, event, metav1.UpdateOptions{})
}

// Patch sends the recorder's strategic merge patch, which counts a repeated event.
func (s EventSink) Patch(event *corev1.Event, data []byte) (*corev1.Event, error) {
	ctx, cancel := context.WithTimeout(context.Background(), eventCallTimeout)
	defer cancel()
	return s.Events.Events(event.Namespace).Patch(ctx, event.Name, types.StrategicMergePatchType, data, metav1.PatchOptions{})
}
