package desired

import (
	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// The Flink configuration keys of Kubernetes high availability that the operator owns while HA
// is on; the CRD rejects them in flinkProperties then.
const (
	HATypeKey          = "high-availability.type"
	HAStorageDirKey    = "high-availability.storageDir"
	HAClusterIDKey     = "high-availability.cluster-id" // names the storage path under storageDir
	KubeClusterIDKey   = "kubernetes.cluster-id"        // names the HA ConfigMaps
	KubeNamespaceKey   = "kubernetes.namespace"
	haDirectoryName    = "ha"
	jobManagerPodIPEnv = "FLINK_JOBMANAGER_POD_IP"
)

// haOwnedKeys are the keys a user's flinkProperties cannot set while HA is on.
var haOwnedKeys = []string{HAClusterIDKey, KubeClusterIDKey, KubeNamespaceKey}

// HAClusterID is the cluster ID of a FlinkCluster's HA services. It comes from the UID, so that
// a FlinkCluster deleted and created again under the same name never recovers the jobs of the
// old one from leftover ConfigMaps; Flink wants at most 45 characters, starting with a letter.
func HAClusterID(fc *v1beta1.FlinkCluster) string { return "flink-" + string(fc.UID) }

// HAConfigMapLabels select the ConfigMaps Flink's Kubernetes HA services create for a cluster
// ID (in Flink 1.20 and 2.x: the cluster's leader ConfigMap and one per job).
func HAConfigMapLabels(clusterID string) map[string]string {
	return map[string]string{"app": clusterID, "type": "flink-native-kubernetes"}
}

// HAStorageDir is where the HA services keep their data: spec.highAvailability.storageDir, the
// flinkProperties key, or the directory "ha" next to savepointsDir.
func HAStorageDir(fc *v1beta1.FlinkCluster) string {
	if ha := fc.Spec.HighAvailability; ha != nil && ha.StorageDir != nil {
		return *ha.StorageDir
	}
	if v, ok := fc.Spec.FlinkProperties[HAStorageDirKey]; ok {
		return string(v)
	}
	if fc.Spec.Job != nil && fc.Spec.Job.SavepointsDir != nil && *fc.Spec.Job.SavepointsDir != "" {
		return dirNextTo(*fc.Spec.Job.SavepointsDir, haDirectoryName)
	}
	return ""
}

// haConfig sets the HA keys when HA is on: after flinkProperties, so that the operator's keys win
// (the CRD rejects a user's value for them anyway).
func haConfig(fc *v1beta1.FlinkCluster, conf map[string]string) {
	if !fc.Spec.HighAvailabilityEnabled() {
		return
	}
	if fc.Spec.HighAvailability != nil {
		conf[HATypeKey] = "kubernetes"
	}
	if dir := HAStorageDir(fc); dir != "" {
		conf[HAStorageDirKey] = dir
	}
	id := HAClusterID(fc)
	conf[HAClusterIDKey] = id
	conf[KubeClusterIDKey] = id
	conf[KubeNamespaceKey] = fc.Namespace
}

func isHAOwned(fc *v1beta1.FlinkCluster, key string) bool {
	if !fc.Spec.HighAvailabilityEnabled() {
		return false
	}
	for _, k := range haOwnedKeys {
		if k == key {
			return true
		}
	}
	return false
}

// jobManagerReplicas is spec.jobManager.replicas with HA (standby JobManagers), 1 without.
func jobManagerReplicas(fc *v1beta1.FlinkCluster) int32 {
	if !fc.Spec.HighAvailabilityEnabled() {
		return 1
	}
	return deref(fc.Spec.JobManager.Replicas, 1)
}
