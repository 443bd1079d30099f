package desired

import (
	"fmt"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
)

// JobIDOption is the Flink configuration option that fixes the job ID of a submitted job; the
// operator chooses the ID so that a resubmission is recognised as a duplicate (docs/flink-rest.md).
const JobIDOption = "$internal.pipeline.job-id"

// JobIDAnnotation on the submitter names the Flink job ID it submits, so the observer can tell
// the current attempt's submitter from an older one.
const JobIDAnnotation = "flinkoperator.k8s.io/job-id"

// Submitter timing: how long the submitter waits for the JobManager, and how long the whole
// submission may take (downloading the JAR included) before Kubernetes gives up on it.
const (
	jobManagerWaitSeconds     = 180
	submitterDeadlineSeconds  = 600
	submitterBackoffLimit     = 2
	submitterContainerName    = "submitter"
	waitForJobManagerInitName = "wait-for-jobmanager"
)

// SubmitterInput is what the state machine decides for one run of the job.
type SubmitterInput struct {
	// JobID is the Flink job ID chosen by the operator (32 hex digits).
	JobID string
	// FromSavepoint is the savepoint this run starts from ("" for none).
	FromSavepoint string
	// JarFetcherImage runs the init container that fetches an http(s) jarFile (Env).
	JarFetcherImage string
}

// Submitter builds the batch/v1 Job that runs one attempt of the job: in application mode the
// JobManager that runs it (applicationJobManager), else the submitter.
func Submitter(fc *v1beta1.FlinkCluster, in SubmitterInput) *batchv1.Job {
	if fc.Spec.Job.ApplicationMode() {
		return applicationJobManager(fc, in)
	}
	return submitter(fc, in)
}

// submitter is the Job that submits the job with `flink run`. Retries of the pod are safe: the
// fixed job ID makes Flink reject a second submission of the same job.
func submitter(fc *v1beta1.FlinkCluster, in SubmitterInput) *batchv1.Job {
	spec := fc.Spec.Job
	main := flinkContainer(fc, submitterContainerName, spec.VolumeMounts)
	main.Command = SubmitCommand(fc, in)
	// flink run's last lines (the exception of a main() that failed, a class not found) reach
	// status through the failed pod (observer.WithPods).
	main.TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
	if spec.Resources != nil {
		main.Resources = *spec.Resources
	}
	template := podTemplate(fc, names.ComponentSubmitter, "", spec.Volumes, main, podOptions{
		annotations: spec.PodAnnotations, labels: spec.PodLabels, nodeSelector: spec.NodeSelector,
		tolerations: spec.Tolerations, securityContext: spec.SecurityContext, scheduling: spec.PodScheduling, template: spec.PodTemplate,
		ownInitContainers: []corev1.Container{waitForJobManager(fc)},
		initContainers:    withJobMounts(spec.InitContainers, spec.VolumeMounts),
	})
	delete(template.Annotations, ConfigHashAnnotation)
	withJarFetch(&template.Spec, fc, in.JarFetcherImage)
	template.Spec.RestartPolicy = corev1.RestartPolicyNever

	backoff, deadline := int32(submitterBackoffLimit), int64(submitterDeadlineSeconds)
	job := &batchv1.Job{
		ObjectMeta: objectMeta(fc, names.Submitter(fc.Name), names.ComponentSubmitter),
		Spec: batchv1.JobSpec{
			BackoffLimit:          &backoff,
			ActiveDeadlineSeconds: &deadline,
			Template:              template,
		},
	}
	job.Annotations = map[string]string{JobIDAnnotation: in.JobID}
	stamp(&job.ObjectMeta, job)
	return job
}

// SubmitCommand is the submitter's `flink run` command line. The JobManager address comes from
// the configuration in FLINK_CONF_DIR (rest.address, rest.port). With HA the client is told to
// use no HA services: it then talks to the JobManager Service (any JobManager forwards to the
// leader) instead of finding the leader through ConfigMaps, so submitting needs no API access.
func SubmitCommand(fc *v1beta1.FlinkCluster, in SubmitterInput) []string {
	spec := fc.Spec.Job
	cmd := []string{flinkHome + "/bin/flink", "run", "--detached",
		"-D" + JobIDOption + "=" + in.JobID,
	}
	if fc.Spec.HighAvailabilityEnabled() {
		cmd = append(cmd, "-D"+HATypeKey+"=NONE")
	}
	cmd = append(cmd, "--parallelism", strconv.Itoa(int(deref(spec.Parallelism, 1))))
	if in.FromSavepoint != "" {
		cmd = append(cmd, "--fromSavepoint", in.FromSavepoint)
		if deref(spec.AllowNonRestoredState, false) {
			cmd = append(cmd, "--allowNonRestoredState")
		}
	}
	for _, url := range spec.ClassPath {
		cmd = append(cmd, "--classpath", url)
	}
	cmd = append(cmd, "--class", spec.ClassName, localJar(spec))
	return append(cmd, spec.Args...)
}

// waitForJobManager blocks the submitter until the JobManager's REST port accepts connections,
// and fails after a bounded time so that a JobManager that never comes up fails the submission
// instead of hanging it.
func waitForJobManager(fc *v1beta1.FlinkCluster) corev1.Container {
	host := names.JobManagerService(fc.Name)
	p := deref(fc.Spec.JobManager.Ports.UI, 8081)
	script := fmt.Sprintf(`for i in $(seq 1 %d); do
  if (exec 3<>/dev/tcp/%s/%d) 2>/dev/null; then exit 0; fi
  sleep 1
done
echo "JobManager %s:%d not reachable after %d s" >&2
exit 1
`, jobManagerWaitSeconds, host, p, host, p, jobManagerWaitSeconds)
	c := corev1.Container{
		Name:            waitForJobManagerInitName,
		Image:           fc.Spec.Image.Name,
		ImagePullPolicy: fc.Spec.Image.PullPolicy,
		Command:         []string{"/bin/bash", "-c", script},
		SecurityContext: ownContainerSecurity(fc),
	}
	// The submitter's resources, so that a namespace quota that requires them admits the pod; a
	// pod requests the larger of its init containers' and its containers' resources, so this adds
	// nothing.
	if r := fc.Spec.Job.Resources; r != nil {
		c.Resources = *r
	}
	return c
}

// withJobMounts adds the job's volumeMounts to each init container, except where the init
// container already mounts something at the same path or under the same name (its own wins).
func withJobMounts(initContainers []corev1.Container, mounts []corev1.VolumeMount) []corev1.Container {
	out := make([]corev1.Container, 0, len(initContainers))
	for _, c := range initContainers {
		c = *c.DeepCopy()
		for _, m := range mounts {
			if !mountsConflict(c.VolumeMounts, m) {
				c.VolumeMounts = append(c.VolumeMounts, m)
			}
		}
		out = append(out, c)
	}
	return out
}

func mountsConflict(existing []corev1.VolumeMount, m corev1.VolumeMount) bool {
	for _, e := range existing {
		if e.MountPath == m.MountPath || e.Name == m.Name {
			return true
		}
	}
	return false
}
