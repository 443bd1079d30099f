//go:build flink

package localnode

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// status derives the pod status from the containers' states (called with r.mu held): the phase
// and the conditions the Deployment, ReplicaSet and Job controllers act on.
func (r *podRunner) status(old corev1.PodStatus) corev1.PodStatus {
	// The processes listen on a loopback address, but EndpointSlices reject loopback addresses:
	// the API shows the private address that localIPFor maps to it.
	st := corev1.PodStatus{
		HostIP: r.node.nodeIP(), HostIPs: []corev1.HostIP{{IP: r.node.nodeIP()}},
		PodIP: r.podIP, PodIPs: []corev1.PodIP{{IP: r.podIP}},
		StartTime: &r.startTime, QOSClass: old.QOSClass,
	}
	initDone := true
	for _, c := range r.init {
		st.InitContainerStatuses = append(st.InitContainerStatuses, c.status)
		if t := c.status.State.Terminated; t == nil || t.ExitCode != 0 {
			initDone = false
		}
	}
	allReady, anyRunning, allTerminated, allSucceeded := true, false, true, true
	for _, c := range r.containers {
		s := c.status
		if r.failure != "" {
			s.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerError", Message: r.failure}}
		}
		st.ContainerStatuses = append(st.ContainerStatuses, s)
		allReady = allReady && s.Ready
		anyRunning = anyRunning || s.State.Running != nil
		t := s.State.Terminated
		allTerminated = allTerminated && t != nil
		allSucceeded = allSucceeded && t != nil && t.ExitCode == 0
	}
	initFailed := !initDone && r.pod.Spec.RestartPolicy == corev1.RestartPolicyNever && r.initFailed()
	switch {
	case initFailed:
		st.Phase = corev1.PodFailed
	case anyRunning:
		st.Phase = corev1.PodRunning
	case allTerminated && allSucceeded && r.pod.Spec.RestartPolicy != corev1.RestartPolicyAlways:
		st.Phase = corev1.PodSucceeded
	case allTerminated && r.pod.Spec.RestartPolicy == corev1.RestartPolicyNever:
		st.Phase = corev1.PodFailed
	default:
		st.Phase = corev1.PodPending
		if initDone && len(r.containers) > 0 && r.containers[0].status.Started != nil {
			st.Phase = corev1.PodRunning // between restarts
		}
	}
	ready := initDone && allReady && anyRunning
	st.Conditions = []corev1.PodCondition{
		condition(old, corev1.PodScheduled, true),
		condition(old, corev1.PodInitialized, initDone),
		condition(old, corev1.ContainersReady, ready),
		condition(old, corev1.PodReady, ready),
	}
	return st
}

func (r *podRunner) initFailed() bool {
	for _, c := range r.init {
		if t := c.status.State.Terminated; t != nil && t.ExitCode != 0 {
			return true
		}
	}
	return false
}

// condition keeps the last transition time of a condition whose status did not change: the
// Deployment controller measures availability from it.
func condition(old corev1.PodStatus, t corev1.PodConditionType, ok bool) corev1.PodCondition {
	status := corev1.ConditionFalse
	if ok {
		status = corev1.ConditionTrue
	}
	c := corev1.PodCondition{Type: t, Status: status, LastTransitionTime: metav1.Now()}
	for _, o := range old.Conditions {
		if o.Type == t && o.Status == status {
			c.LastTransitionTime = o.LastTransitionTime
		}
	}
	return c
}
