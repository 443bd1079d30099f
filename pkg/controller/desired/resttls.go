package desired

import (
	"crypto/tls"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// RESTTLSAnnotation on the cluster's ConfigMap says that the configuration in it makes the REST
// API serve HTTPS. The operator's cache keeps no ConfigMap data, and while a job runs its
// ConfigMap keeps the configuration the JobManager was started with (a changed spec waits for the
// job's next stop), so this is how the observer knows which scheme the running JobManager speaks.
const RESTTLSAnnotation = "flinkoperator.k8s.io/rest-tls"

// ServesRESTTLS says whether the cluster's JobManager serves HTTPS: by its ConfigMap once there
// is one, by the spec before.
func ServesRESTTLS(fc *v1beta1.FlinkCluster, cm *corev1.ConfigMap) bool {
	if cm == nil {
		return RESTTLSEnabled(fc)
	}
	return cm.Annotations[RESTTLSAnnotation] == "true"
}

// Flink's switch for TLS on the REST API, and the older key Flink 1.x falls back to (2.x no
// longer knows it).
const (
	RESTSSLEnabledKey   = "security.ssl.rest.enabled"
	legacySSLEnabledKey = "security.ssl.enabled"
)

// SSLAlgorithmsKey lists the cipher suites Flink's TLS endpoints accept. Flink's default is
// TLS_RSA_WITH_AES_128_CBC_SHA alone: RSA key exchange, which Go's TLS client (the operator's)
// no longer offers, so with Flink's default no handshake succeeds ("no cipher suites in common").
const SSLAlgorithmsKey = "security.ssl.algorithms"

// sslProtocolKey is the TLS version Flink's endpoints speak; Flink's default is TLSv1.2.
const sslProtocolKey = "security.ssl.protocol"

// RESTTLSCipherSuites is what a cluster with spec.jobManager.restTLS gets unless its
// flinkProperties name suites: forward-secret AEAD suites for RSA and EC keys alike, which Java
// 17 and Go both implement.
const RESTTLSCipherSuites = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256," +
	"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384," +
	// TLS 1.3's own suites, for a security.ssl.protocol that allows TLSv1.3.
	"TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384"

// RESTTLSEnabled says whether the cluster's flinkProperties make the REST API serve HTTPS.
func RESTTLSEnabled(fc *v1beta1.FlinkCluster) bool {
	props := fc.Spec.FlinkProperties
	v, ok := props[RESTSSLEnabledKey]
	if !ok && clusterFlinkVersion(fc).major < 2 {
		v, ok = props[legacySSLEnabledKey]
	}
	return ok && strings.EqualFold(strings.TrimSpace(string(v)), "true")
}

// checkRESTTLS refuses a spec whose REST API the operator could not call: HTTPS without the
// Secret to verify it, or cipher suites the operator's client does not share. restTLS with plain
// HTTP is allowed: the operator calls whatever scheme the running JobManager was started with
// (ServesRESTTLS), so turning TLS off in one update needs restTLS until the old JobManager is
// gone.
func checkRESTTLS(fc *v1beta1.FlinkCluster) error {
	if !RESTTLSEnabled(fc) {
		return nil
	}
	if fc.Spec.JobManager.RESTTLS == nil {
		return fmt.Errorf("spec.flinkProperties[%q] is true: set spec.jobManager.restTLS.secretName "+
			"to a Secret with the CA (ca.crt) that signed the REST certificate, so that the operator can call the REST API", restSSLKeySet(fc))
	}
	return checkCipherSuites(fc)
}

// restSSLKeySet names the key that switched REST TLS on.
func restSSLKeySet(fc *v1beta1.FlinkCluster) string {
	if _, ok := fc.Spec.FlinkProperties[RESTSSLEnabledKey]; ok {
		return RESTSSLEnabledKey
	}
	return legacySSLEnabledKey
}

// checkCipherSuites refuses a security.ssl.algorithms with no suite the operator's client
// offers for the protocol Flink speaks (security.ssl.protocol, TLSv1.2 unless set): every
// handshake would fail.
func checkCipherSuites(fc *v1beta1.FlinkCluster) error {
	v, ok := fc.Spec.FlinkProperties[SSLAlgorithmsKey]
	if !ok {
		return nil
	}
	version := uint16(tls.VersionTLS12)
	if strings.Contains(string(fc.Spec.FlinkProperties[sslProtocolKey]), "TLSv1.3") {
		version = tls.VersionTLS13
	}
	offered := map[string]bool{}
	for _, s := range tls.CipherSuites() {
		for _, v := range s.SupportedVersions {
			offered[s.Name] = offered[s.Name] || v == version
		}
	}
	for _, name := range strings.Split(string(v), ",") {
		if offered[strings.TrimSpace(name)] {
			return nil
		}
	}
	return fmt.Errorf("spec.flinkProperties[%q]: none of %q is a cipher suite the operator's TLS client offers, so "+
		"it could not call the REST API; list a forward-secret suite such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 "+
		"(or remove the key: with restTLS the operator sets %s)", SSLAlgorithmsKey, string(v), RESTTLSCipherSuites)
}
