//go:build flink

package localnode

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// startEvents records the kubelet's events for the node's pods (kubectl describe pod: Pulled,
// Created, Started, Killing, BackOff, Unhealthy, Failed) until ctx ends.
func (n *Node) startEvents(ctx context.Context) {
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: n.opts.Kube.CoreV1().Events("")})
	n.events = broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: n.opts.Name})
	go func() {
		<-ctx.Done()
		broadcaster.Shutdown()
	}()
}

// event records an event about the runner's pod, when the node records events.
func (r *podRunner) event(eventType, reason, messageFmt string, args ...any) {
	if r.node.events != nil {
		r.node.events.Eventf(r.pod, eventType, reason, messageFmt, args...)
	}
}
