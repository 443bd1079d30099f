package desired

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
)

// The Flink configuration of an application cluster, set by the operator (a different value in
// flinkProperties makes the spec invalid). The JobManager stays up after its job ended, so the
// operator reads how it ended, its final savepoint and its failure from the REST API; and a
// main() that throws before the job exists still shows as a FAILED job under the operator's job
// ID, instead of a JobManager that exits with nothing to read.
var applicationKeys = map[string]string{
	"execution.shutdown-on-application-finish":         "false",
	"execution.submit-failed-job-on-application-error": "true",
}

// AttemptJobName is the name of the batch Job that runs one attempt of the job: the submitter,
// or in application mode the JobManager itself.
func AttemptJobName(fc *v1beta1.FlinkCluster) string {
	if fc.Spec.Job.ApplicationMode() {
		return names.JobManagerDeployment(fc.Name)
	}
	return names.Submitter(fc.Name)
}

// checkApplication rejects what application mode cannot honour.
func checkApplication(fc *v1beta1.FlinkCluster) error {
	if !fc.Spec.Job.ApplicationMode() {
		return nil
	}
	if v := clusterFlinkVersion(fc); v.known() && v.major == 1 && v.minor < 19 {
		// Found by the end-to-end smoke run on 1.18.1: its entry point takes no --jars (it reads
		// the unknown option as the start of the job's arguments) and finds no job class.
		return fmt.Errorf("spec.job.mode: Application needs Flink 1.19 or newer, whose application entry point takes the job's JAR (--jars); Flink %d.%d has none: use mode Detached, or an image of Flink 1.19 or newer", v.major, v.minor)
	}
	for k, want := range applicationKeys {
		if v, ok := fc.Spec.FlinkProperties[k]; ok && string(v) != want {
			return fmt.Errorf("spec.flinkProperties[%q]: application mode needs %s (the operator reads the job's end from the JobManager); remove the key", k, want)
		}
	}
	return nil
}

// applicationJobManager is the JobManager of one attempt in application mode: a batch Job whose
// pod runs the job's main() with the attempt's job ID and restore source. A Job, not a
// Deployment: without high availability a restarted JobManager would run the job again from the
// attempt's start (its --fromSavepoint), so its pod is never restarted (restartPolicy Never,
// backoffLimit 0); a JobManager that dies ends the attempt (Lost), and the restart policy decides
// what comes next with a new attempt and a new JobManager. With high availability a restarted
// JobManager recovers the job from the HA store instead (from its latest checkpoint; a job that
// ended stays ended, by Flink's JobResultStore), so the pod is restarted as a Deployment's
// would be (restartPolicy OnFailure, no backoff limit), and the Job runs the standbys too.
func applicationJobManager(fc *v1beta1.FlinkCluster, in SubmitterInput) *batchv1.Job {
	template := jobManagerPod(fc, "", ApplicationCommand(fc, in), fc.Spec.Job)
	delete(template.Annotations, ConfigHashAnnotation)
	if fc.Spec.JobManager.ReadinessProbe == nil {
		// The JobManager submits its own job while it starts, uploading the job's files to the
		// blob server at jobmanager.rpc.address, its own Service: a readiness probe that has not
		// passed yet leaves the Service without an endpoint, and the job fails to start (Flink
		// 1.20 in the end-to-end tests). Not publishing not-ready addresses instead keeps a
		// terminating JobManager out of the Service, so TaskManagers never register with the one
		// an attempt replaces (they would retry that dead one until their registration times out).
		template.Spec.Containers[0].ReadinessProbe = nil
	}
	withJarFetch(&template.Spec, fc, in.JarFetcherImage)
	template.Spec.RestartPolicy = corev1.RestartPolicyNever
	spec := batchv1.JobSpec{BackoffLimit: ptr.To[int32](0), Template: template}
	if fc.Spec.HighAvailabilityEnabled() {
		spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		spec.BackoffLimit = ptr.To[int32](math.MaxInt32)
		spec.Parallelism = ptr.To(jobManagerReplicas(fc))
	}
	job := &batchv1.Job{
		ObjectMeta: objectMeta(fc, names.JobManagerDeployment(fc.Name), names.ComponentJobManager),
		Spec:       spec,
	}
	job.Annotations = map[string]string{JobIDAnnotation: in.JobID}
	stamp(&job.ObjectMeta, job)
	return job
}

// ApplicationCommand is the JobManager's command line in application mode: Flink's standalone
// application entry point with the operator's job ID, the restore source, the job's JAR, class,
// parallelism and class path, and the job's arguments after "--" (so that none is read as an
// option of the entry point).
func ApplicationCommand(fc *v1beta1.FlinkCluster, in SubmitterInput) []string {
	spec := fc.Spec.Job
	cmd := []string{flinkHome + "/bin/standalone-job.sh", "start-foreground",
		"--job-classname", spec.ClassName,
		"--job-id", in.JobID,
		"--jars", applicationJarURI(spec),
		"-Dparallelism.default=" + strconv.Itoa(int(deref(spec.Parallelism, 1))),
	}
	if fc.Spec.HighAvailabilityEnabled() {
		// Each JobManager announces its pod IP through the leader ConfigMap (see jobManagerPod).
		cmd = append(cmd, "-Djobmanager.rpc.address=$("+jobManagerPodIPEnv+")")
	}
	if len(spec.ClassPath) > 0 {
		cmd = append(cmd, "-Dpipeline.classpaths="+strings.Join(spec.ClassPath, ";"))
	}
	if in.FromSavepoint != "" {
		cmd = append(cmd, "--fromSavepoint", in.FromSavepoint)
		if deref(spec.AllowNonRestoredState, false) {
			cmd = append(cmd, "--allowNonRestoredState")
		}
	}
	if len(spec.Args) > 0 {
		cmd = append(append(cmd, "--"), spec.Args...)
	}
	return cmd
}
