package desired

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
)

func TestApplicationBuild(t *testing.T) {
	c, err := Build(application(), Env{})
	require.NoError(t, err)
	assert.Nil(t, c.JobManagerDeployment, "the state machine creates an application's JobManager, per attempt")
	assert.Contains(t, c.ConfigMap.Data[FlinkConfV1Key], "execution.shutdown-on-application-finish: false")

	jm := Submitter(application(), SubmitterInput{JobID: "0123456789abcdef0123456789abcdef"})
	assert.Equal(t, "application-jobmanager", jm.Name)
	assert.Equal(t, "application-jobmanager", AttemptJobName(application()))
	assert.Equal(t, "wordcount-job-submitter", AttemptJobName(base()))
	assert.Zero(t, *jm.Spec.BackoffLimit, "a JobManager that died is never run again: it would rerun the job from the attempt's start")
	assert.Equal(t, "Never", string(jm.Spec.Template.Spec.RestartPolicy))
	assert.Equal(t, "jobmanager", jm.Spec.Template.Labels[names.LabelComponent], "the JobManager Service selects it")
	assert.NotContains(t, jm.Spec.Template.Annotations, ConfigHashAnnotation)
	var inits []string
	for _, c := range jm.Spec.Template.Spec.InitContainers {
		inits = append(inits, c.Name)
	}
	assert.Equal(t, []string{"download", "own-mount"}, inits, "the job's init containers fetch its JAR in the JobManager's pod")
	assert.Contains(t, jm.Spec.Template.Spec.Containers[0].VolumeMounts, application().Spec.Job.VolumeMounts[0])
}

func TestApplicationRejects(t *testing.T) {
	tests := []struct {
		name string
		edit func(fc *v1beta1.FlinkCluster)
		want string
	}{
		{"a JobManager that shuts down with its job", func(fc *v1beta1.FlinkCluster) {
			fc.Spec.FlinkProperties["execution.shutdown-on-application-finish"] = "true"
		}, `spec.flinkProperties["execution.shutdown-on-application-finish"]`},
		{"Flink 1.18 by its image", func(fc *v1beta1.FlinkCluster) {
			fc.Spec.Image.Name = "flink:1.18.1-java17"
		}, "spec.job.mode: Application needs Flink 1.19 or newer"},
		{"Flink 1.18 by spec.flinkVersion", func(fc *v1beta1.FlinkCluster) {
			fc.Spec.FlinkVersion = "1.18"
		}, "Flink 1.18 has none: use mode Detached"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := application()
			tt.edit(fc)
			_, err := Build(fc, Env{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	fc := application()
	fc.Spec.FlinkProperties["execution.shutdown-on-application-finish"] = "false"
	_, err := Build(fc, Env{})
	assert.NoError(t, err, "the value the operator sets anyway is accepted")
	fc = application()
	fc.Spec.Image.Name = "flink:1.19.3"
	_, err = Build(fc, Env{})
	assert.NoError(t, err, "1.19 has --jars")
}

func TestApplicationCommand(t *testing.T) {
	tests := []struct{ jar, want string }{
		{"/opt/flink/usrlib/job.jar", "local:///opt/flink/usrlib/job.jar"},
		{"./examples/streaming/WordCount.jar", "local:///opt/flink/examples/streaming/WordCount.jar"},
		{"https://example.com/job.jar", "local:///opt/flink-operator/job-jar/job.jar"}, // fetched by the init container
		{"HTTP://example.com/job.jar", "local:///opt/flink-operator/job-jar/job.jar"},
		{"local:///opt/flink/usrlib/job.jar", "local:///opt/flink/usrlib/job.jar"},
		{"file:///opt/flink/usrlib/job.jar", "local:///opt/flink/usrlib/job.jar"},
		{"gs://bucket/job.jar", "gs://bucket/job.jar"}, // fetched by Flink's file systems
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, applicationJarURI(&v1beta1.JobSpec{JarFile: tt.jar}), tt.jar)
	}
	fc := base()
	fc.Spec.Job.Mode = ptr.To(v1beta1.JobModeApplication)
	cmd := ApplicationCommand(fc, SubmitterInput{JobID: "id"})
	assert.NotContains(t, cmd, "--", "no job arguments, no separator")
	assert.NotContains(t, cmd, "--fromSavepoint")
}

// With high availability an application's JobManager is restarted in place and recovers its job
// from the HA store; it announces its pod IP, and the Job runs the standbys too.
func TestApplicationWithHighAvailability(t *testing.T) {
	fc := highlyAvailable()
	fc.Spec.Job.Mode = ptr.To(v1beta1.JobModeApplication)
	c, err := Build(fc, Env{})
	require.NoError(t, err)
	assert.Nil(t, c.JobManagerDeployment)
	jm := Submitter(fc, SubmitterInput{JobID: "0123456789abcdef0123456789abcdef"})
	assert.Equal(t, "OnFailure", string(jm.Spec.Template.Spec.RestartPolicy))
	assert.Equal(t, int32(2), *jm.Spec.Parallelism, "jobManager.replicas: a leader and a standby")
	assert.Greater(t, *jm.Spec.BackoffLimit, int32(1000), "restarted as a Deployment's pod would be")
	main := jm.Spec.Template.Spec.Containers[0]
	assert.Contains(t, main.Command, "-Djobmanager.rpc.address=$("+jobManagerPodIPEnv+")")
	assert.NotEqual(t, "$("+jobManagerPodIPEnv+")", main.Command[len(main.Command)-1], "no host argument: it would be read as the job's")
	var podIP bool
	for _, e := range main.Env {
		podIP = podIP || (e.Name == jobManagerPodIPEnv && e.ValueFrom != nil && e.ValueFrom.FieldRef.FieldPath == "status.podIP")
	}
	assert.True(t, podIP)
}
