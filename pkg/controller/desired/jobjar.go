package desired

import (
	"fmt"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// An http:// or https:// jarFile is fetched before Flink reads it, by an init container running
// the operator's own image (`flink-operator fetch-jar`, package jarfetch) into a volume the
// submitter (or an application's JobManager) mounts: flink run reads only local files, and
// Flink's own HTTP fetching in application mode checks no digest.
const (
	// FetchJarCommand is the operator binary's subcommand that fetches a JAR.
	FetchJarCommand = "fetch-jar"
	// OperatorBinary is the operator's executable in its image.
	OperatorBinary   = "/flink-operator"
	fetchJarInitName = "fetch-job-jar"
	jobJarVolume     = "flink-operator-job-jar"
	jobJarDir        = "/opt/flink-operator/job-jar"
	// fetchJarDeadline bounds the fetch, retries included; with the wait for the JobManager it
	// stays within the submitter's deadline.
	fetchJarDeadline = "300s"
)

// RemoteJar reports whether the job's JAR is fetched by the operator's init container.
func RemoteJar(job *v1beta1.JobSpec) bool {
	if job == nil {
		return false
	}
	scheme, _, ok := strings.Cut(job.JarFile, "://")
	return ok && (strings.EqualFold(scheme, "http") || strings.EqualFold(scheme, "https"))
}

// checkRemoteJar fails when the job's JAR must be fetched and nothing can fetch it.
func checkRemoteJar(fc *v1beta1.FlinkCluster, env Env) error {
	if RemoteJar(fc.Spec.Job) && env.JarFetcherImage == "" {
		return fmt.Errorf("spec.job.jarFile %q: an http(s) JAR is fetched by an init container running the operator's image, and this operator runs without --jar-fetcher-image; start it with the flag (deploy/operator/deployment.yaml sets it), or put the JAR in the image", fc.Spec.Job.JarFile)
	}
	return nil
}

// localJar is where flink run finds the job's JAR: the fetched copy, or the path the spec names
// (local:// and file:// name a path too; flink run takes only the path).
func localJar(job *v1beta1.JobSpec) string {
	if RemoteJar(job) {
		return jobJarDir + "/job.jar"
	}
	for _, scheme := range []string{"local://", "file://"} {
		if len(job.JarFile) > len(scheme) && strings.EqualFold(job.JarFile[:len(scheme)], scheme) {
			return job.JarFile[len(scheme):]
		}
	}
	return job.JarFile
}

// withJarFetch adds the fetching init container, first of all, and the volume it fills, mounted
// into the pod's main container, when the job's JAR is remote.
func withJarFetch(pod *corev1.PodSpec, fc *v1beta1.FlinkCluster, image string) {
	job := fc.Spec.Job
	if !RemoteJar(job) {
		return
	}
	mount := corev1.VolumeMount{Name: jobJarVolume, MountPath: jobJarDir}
	cmd := []string{OperatorBinary, FetchJarCommand, "--url", job.JarFile, "--dest", localJar(job), "--deadline", fetchJarDeadline}
	if job.JarFileChecksum != "" {
		cmd = append(cmd, "--checksum", job.JarFileChecksum)
	}
	fetch := corev1.Container{
		Name:    fetchJarInitName,
		Image:   image,
		Command: cmd,
		// The cluster's environment: HTTPS_PROXY and NO_PROXY reach the fetch as they reach Flink.
		EnvFrom:         fc.Spec.EnvFrom,
		Env:             fc.Spec.EnvVars,
		VolumeMounts:    []corev1.VolumeMount{mount},
		SecurityContext: ownContainerSecurity(fc),
		// The reason reaches status (observer.WithPods) even where the file is not written.
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	// The main container's resources, so that a namespace quota that requires them admits the
	// pod (as for the wait for the JobManager); a pod requests the larger of the two anyway.
	fetch.Resources = *pod.Containers[0].Resources.DeepCopy()
	pod.InitContainers = append([]corev1.Container{fetch}, pod.InitContainers...)
	pod.Volumes = append(pod.Volumes, corev1.Volume{Name: jobJarVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	pod.Containers[0].VolumeMounts = append(pod.Containers[0].VolumeMounts, mount)
}

// applicationJarURI is the job's JAR as Flink's artifact fetching reads it (--jars): a path in
// the image, or the fetched copy, as a local:// URI (used where it is, never copied; a relative
// path is relative to the image's Flink home, where flink run would run); a URI of another
// scheme is fetched by Flink as it is.
func applicationJarURI(job *v1beta1.JobSpec) string {
	jar := localJar(job)
	if strings.Contains(jar, "://") {
		return jar
	}
	if !path.IsAbs(jar) {
		jar = path.Join(flinkHome, jar)
	}
	return "local://" + path.Clean(jar)
}
