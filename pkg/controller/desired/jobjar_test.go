package desired

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

const testFetcherImage = "registry.example/flink-operator:v1"

func remoteJar(mode v1beta1.JobMode) *v1beta1.FlinkCluster {
	fc := base()
	fc.Spec.Job.Mode = ptr.To(mode)
	fc.Spec.Job.JarFile = "https://repo.example/jobs/counter-1.2.jar"
	fc.Spec.Job.JarFileChecksum = "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	// The fetch goes through the cluster's proxy, as Flink does.
	fc.Spec.EnvVars = []corev1.EnvVar{{Name: "HTTPS_PROXY", Value: "http://proxy.example:3128"}}
	return fc
}

// TestRemoteJarGolden: the submitter and an application's JobManager fetch the JAR first into a
// volume the main container reads it from.
func TestRemoteJarGolden(t *testing.T) {
	in := SubmitterInput{JobID: "0123456789abcdef0123456789abcdef", JarFetcherImage: testFetcherImage}
	var objs []interface{}
	for _, mode := range []v1beta1.JobMode{v1beta1.JobModeDetached, v1beta1.JobModeApplication} {
		fc := remoteJar(mode)
		_, err := Build(fc, Env{JarFetcherImage: testFetcherImage})
		require.NoError(t, err)
		objs = append(objs, Submitter(fc, in))
	}
	assertGolden(t, "remote-jar", objs)
}

func TestRemoteJarNeedsTheFetcherImage(t *testing.T) {
	_, err := Build(remoteJar(v1beta1.JobModeDetached), Env{})
	assert.ErrorContains(t, err, `spec.job.jarFile "https://repo.example/jobs/counter-1.2.jar": an http(s) JAR is fetched by an init container running the operator's image, and this operator runs without --jar-fetcher-image`)
	_, err = Build(base(), Env{})
	assert.NoError(t, err, "a JAR in the image needs no fetcher")
}

func TestSubmitCommandReadsTheJarLocally(t *testing.T) {
	tests := []struct{ jar, want string }{
		{"./examples/streaming/WordCount.jar", "./examples/streaming/WordCount.jar"},
		{"/opt/flink/usrlib/job.jar", "/opt/flink/usrlib/job.jar"},
		{"local:///opt/flink/usrlib/job.jar", "/opt/flink/usrlib/job.jar"},
		{"file:///opt/flink/usrlib/job.jar", "/opt/flink/usrlib/job.jar"},
		{"https://repo.example/job.jar", "/opt/flink-operator/job-jar/job.jar"},
		{"Http://repo.example/job.jar", "/opt/flink-operator/job-jar/job.jar"},
	}
	for _, tt := range tests {
		fc := base()
		fc.Spec.Job.JarFile = tt.jar
		cmd := SubmitCommand(fc, SubmitterInput{JobID: "id"})
		assert.Equal(t, tt.want, cmd[len(cmd)-len(fc.Spec.Job.Args)-1], tt.jar)
	}
}

func TestOnlyARemoteJarIsFetched(t *testing.T) {
	for _, jar := range []string{"./examples/streaming/WordCount.jar", "local:///x.jar", "gs://bucket/x.jar", "https:/not-a-url"} {
		fc := base()
		fc.Spec.Job.JarFile = jar
		job := Submitter(fc, SubmitterInput{JobID: "id", JarFetcherImage: testFetcherImage})
		for _, c := range job.Spec.Template.Spec.InitContainers {
			assert.NotEqual(t, fetchJarInitName, c.Name, jar)
		}
	}
}
