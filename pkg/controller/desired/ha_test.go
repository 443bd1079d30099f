package desired

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

func TestHAConfig(t *testing.T) {
	withProps := func(props map[string]v1beta1.FlinkPropertyValue) *v1beta1.FlinkCluster {
		fc := base()
		fc.Spec.FlinkProperties = props
		return fc
	}
	withBlock := func(storage *string, savepoints *string) *v1beta1.FlinkCluster {
		fc := base()
		fc.Spec.HighAvailability = &v1beta1.HighAvailabilitySpec{Type: v1beta1.HighAvailabilityKubernetes, StorageDir: storage}
		fc.Spec.Job.SavepointsDir = savepoints
		return fc
	}
	owned := map[string]string{HAClusterIDKey: "flink-uid-1", KubeClusterIDKey: "flink-uid-1", KubeNamespaceKey: "flink"}
	cases := []struct {
		name string
		fc   *v1beta1.FlinkCluster
		want map[string]string // "" means absent
	}{
		{"off: no HA key", base(), map[string]string{HATypeKey: "", HAStorageDirKey: "", KubeClusterIDKey: "", HAClusterIDKey: ""}},
		{"off: type None", func() *v1beta1.FlinkCluster {
			fc := withBlock(ptr.To("s3://b/ha"), nil)
			fc.Spec.HighAvailability.Type = v1beta1.HighAvailabilityNone
			return fc
		}(), map[string]string{HATypeKey: "", HAStorageDirKey: "", KubeClusterIDKey: ""}},
		{"block with a storage directory", withBlock(ptr.To("s3://b/ha"), ptr.To("s3://b/flink/savepoints")),
			merge(owned, map[string]string{HATypeKey: "kubernetes", HAStorageDirKey: "s3://b/ha"})},
		{"block: storage next to savepointsDir", withBlock(nil, ptr.To("s3://b/flink/savepoints/")),
			merge(owned, map[string]string{HATypeKey: "kubernetes", HAStorageDirKey: "s3://b/flink/ha"})},
		{"flinkProperties mean the same, the operator owns the IDs and namespace", withProps(map[string]v1beta1.FlinkPropertyValue{
			HATypeKey: "KUBERNETES", HAStorageDirKey: "gs://b/ha", KubeClusterIDKey: "mine", KubeNamespaceKey: "other"}),
			merge(owned, map[string]string{HATypeKey: "KUBERNETES", HAStorageDirKey: "gs://b/ha"})},
		{"Flink 1.x key and the factory class", withProps(map[string]v1beta1.FlinkPropertyValue{
			"high-availability": "org.apache.flink.kubernetes.highavailability.KubernetesHaServicesFactory", HAStorageDirKey: "gs://b/ha"}),
			owned},
		{"ZooKeeper is the user's own: no keys owned", withProps(map[string]v1beta1.FlinkPropertyValue{
			HATypeKey: "zookeeper", KubeClusterIDKey: "mine"}),
			map[string]string{HATypeKey: "zookeeper", KubeClusterIDKey: "mine", HAClusterIDKey: ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conf := flinkConfig(tc.fc, 1024, 1024)
			for k, v := range tc.want {
				got, ok := conf[k]
				if v == "" {
					assert.False(t, ok, "%s should be absent, is %q", k, got)
					continue
				}
				assert.Equal(t, v, got, k)
			}
		})
	}
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func TestHAClusterIDFitsFlink(t *testing.T) {
	fc := base()
	fc.UID = "0b2a6a4e-5a51-4a0c-9a0e-000000000001"
	id := HAClusterID(fc)
	assert.LessOrEqual(t, len(id), 45, "kubernetes.cluster-id is at most 45 characters")
	assert.Regexp(t, `^[a-z]([-a-z0-9]*[a-z0-9])$`, id)
}

func TestHAJobManagersAnnounceTheirPodIP(t *testing.T) {
	fc := highlyAvailable()
	c, err := Build(fc, Env{})
	require.NoError(t, err)
	d := c.JobManagerDeployment
	assert.Equal(t, int32(2), *d.Spec.Replicas)
	main := d.Spec.Template.Spec.Containers[0]
	assert.Equal(t, []string{"/opt/flink/bin/jobmanager.sh", "start-foreground", "$(FLINK_JOBMANAGER_POD_IP)"}, main.Command)
	last := main.Env[len(main.Env)-1]
	assert.Equal(t, "FLINK_JOBMANAGER_POD_IP", last.Name, "after the user's variables, so that none can shadow it")
	assert.Equal(t, "status.podIP", last.ValueFrom.FieldRef.FieldPath)

	// A standby more or less changes no pod: the hash leaves replicas out.
	fc.Spec.JobManager.Replicas = ptr.To[int32](3)
	c3, err := Build(fc, Env{})
	require.NoError(t, err)
	assert.Equal(t, d.Annotations[SpecHashAnnotation], c3.JobManagerDeployment.Annotations[SpecHashAnnotation])

	// Without HA, replicas is 1 whatever the field says (the API server rejects more).
	plain := base()
	plain.Spec.JobManager.Replicas = ptr.To[int32](2)
	c1, err := Build(plain, Env{})
	require.NoError(t, err)
	assert.Equal(t, int32(1), *c1.JobManagerDeployment.Spec.Replicas)
	assert.Equal(t, []string{"/opt/flink/bin/jobmanager.sh", "start-foreground"}, c1.JobManagerDeployment.Spec.Template.Spec.Containers[0].Command)
}

func TestHASubmitterUsesTheService(t *testing.T) {
	fc := highlyAvailable()
	cmd := SubmitCommand(fc, SubmitterInput{JobID: "0123456789abcdef0123456789abcdef"})
	assert.Contains(t, cmd, "-Dhigh-availability.type=NONE")
	assert.NotContains(t, SubmitCommand(base(), SubmitterInput{JobID: "0123456789abcdef0123456789abcdef"}), "-Dhigh-availability.type=NONE")
}
