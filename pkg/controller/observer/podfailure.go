package observer

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	corev1client "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/typed/core/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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
	// ResourceVersion "0": from the API server's watch cache, not a quorum read of the namespace.
	list, err := client.Pods(job.Namespace).List(ctx, metav1.ListOptions{LabelSelector: jobControllerUIDLabel + "=" + string(job.UID), ResourceVersion: "0"})
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

// failureOf names the first container that failed in the newest pod that has one, with the end
// of its termination message (or its reason and exit code), or else one that could not start (an
// image that cannot be pulled: a wrong --jar-fetcher-image, a missing pull secret).
func failureOf(pods []corev1.Pod) string {
	sort.Slice(pods, func(i, j int) bool { return pods[j].CreationTimestamp.Before(&pods[i].CreationTimestamp) })
	for _, pod := range pods {
		statuses := append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
		for _, c := range statuses {
			if t := c.State.Terminated; t != nil && t.ExitCode != 0 {
				msg := strings.TrimSpace(t.Message)
				if msg == "" {
					msg = fmt.Sprintf("%s, exit code %d", t.Reason, t.ExitCode)
				}
				return fmt.Sprintf("container %s of pod %s: %s", c.Name, pod.Name, lastRunes(msg, maxPodFailureMessage))
			}
		}
		for _, c := range statuses {
			if w := c.State.Waiting; w != nil && w.Reason != "" && w.Reason != "PodInitializing" && w.Reason != "ContainerCreating" {
				return fmt.Sprintf("container %s of pod %s: %s: %s", c.Name, pod.Name, w.Reason, lastRunes(w.Message, maxPodFailureMessage))
			}
		}
	}
	return ""
}

// lastRunes keeps the end of s, where a log's last lines and an error's reason are, in at most
// n bytes cut on a rune boundary.
func lastRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := len(s) - n
	for cut < len(s) && !utf8.RuneStart(s[cut]) {
		cut++
	}
	return "..." + s[cut:]
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
