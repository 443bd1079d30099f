package observer

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/klog/v2"
)

// jobControllerUIDLabel is the label the Job controller puts on a Job's pods: the Job's UID.
const jobControllerUIDLabel = "batch.kubernetes.io/controller-uid"

// maxPodFailureMessage bounds what a container's termination message adds to status.
const maxPodFailureMessage = 512

// WithPods lets the observer read why a failed attempt's Job failed from its pods: the Job says
// only that its backoff limit was reached, the pod names the container and its message (a JAR
// whose digest differs, a class not found). The pods are listed once per failed Job, from the
// API server: no cache holds pods, which would cost memory on every sync's behalf.
func (o *Observer) WithPods(client corev1client.PodsGetter) *Observer {
	o.pods = client
	return o
}

// podFailures remembers, per cluster, the failed Job whose pods were read and what they said.
type podFailures struct {
	mu    sync.Mutex
	known map[string]podFailure
}

type podFailure struct {
	job    types.UID
	reason string
}

// reasonFor is why the failed Job's pods failed ("" when they do not say), read once per Job.
func (p *podFailures) reasonFor(ctx context.Context, client corev1client.PodsGetter, key string, job *batchv1.Job) string {
	p.mu.Lock()
	known, ok := p.known[key]
	p.mu.Unlock()
	if ok && known.job == job.UID {
		return known.reason
	}
	list, err := client.Pods(job.Namespace).List(ctx, metav1.ListOptions{LabelSelector: jobControllerUIDLabel + "=" + string(job.UID)})
	if err != nil {
		// Not remembered: the next sync asks again; the Job's own reason is reported meanwhile.
		klog.FromContext(ctx).Info("Could not read the failed attempt's pods", "flinkcluster", key, "job", job.Name, "err", err)
		return ""
	}
	reason := failureOf(list.Items)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.known == nil {
		p.known = map[string]podFailure{}
	}
	p.known[key] = podFailure{job: job.UID, reason: reason}
	return reason
}

func (p *podFailures) forget(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.known, key)
}

// failureOf names the first container that failed in the newest pod that has one, with its
// termination message (or reason and exit code).
func failureOf(pods []corev1.Pod) string {
	sort.Slice(pods, func(i, j int) bool { return pods[j].CreationTimestamp.Before(&pods[i].CreationTimestamp) })
	for _, pod := range pods {
		for _, c := range append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
			t := c.State.Terminated
			if t == nil || t.ExitCode == 0 {
				continue
			}
			msg := strings.TrimSpace(t.Message)
			if msg == "" {
				msg = fmt.Sprintf("%s, exit code %d", t.Reason, t.ExitCode)
			}
			if len(msg) > maxPodFailureMessage {
				msg = msg[:maxPodFailureMessage] + "..."
			}
			return fmt.Sprintf("container %s of pod %s: %s", c.Name, pod.Name, msg)
		}
	}
	return ""
}

// jobFailed reports whether a Job has failed for good.
func jobFailed(job *batchv1.Job) bool {
	for _, c := range job.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
