package desired

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

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

// RESTTLSCipherSuites is what a cluster with spec.jobManager.restTLS gets unless its
// flinkProperties name suites: forward-secret AEAD suites for RSA and EC keys alike, which Java
// 17 and Go both implement.
const RESTTLSCipherSuites = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256," +
	"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"

// RESTTLSEnabled says whether the cluster's flinkProperties make the REST API serve HTTPS.
func RESTTLSEnabled(fc *v1beta1.FlinkCluster) bool {
	props := fc.Spec.FlinkProperties
	v, ok := props[RESTSSLEnabledKey]
	if !ok && clusterFlinkVersion(fc).major < 2 {
		v, ok = props[legacySSLEnabledKey]
	}
	return ok && strings.EqualFold(strings.TrimSpace(string(v)), "true")
}

// checkRESTTLS refuses a spec whose REST API the operator would call with the wrong scheme:
// Flink serves HTTPS exactly when flinkProperties say so, and the operator calls HTTPS exactly
// when spec.jobManager.restTLS is set.
func checkRESTTLS(fc *v1beta1.FlinkCluster) error {
	switch on := RESTTLSEnabled(fc); {
	case on && fc.Spec.JobManager.RESTTLS == nil:
		return errors.New("spec.flinkProperties[\"" + RESTSSLEnabledKey + "\"] is true: set spec.jobManager.restTLS.secretName " +
			"to a Secret with the CA (ca.crt) that signed the REST certificate, so that the operator can call the REST API")
	case !on && fc.Spec.JobManager.RESTTLS != nil:
		return errors.New("spec.jobManager.restTLS is set but spec.flinkProperties do not set \"" + RESTSSLEnabledKey +
			"\": \"true\": the REST API would serve plain HTTP, which the operator does not call when restTLS is set")
	case on:
		return checkCipherSuites(fc)
	}
	return nil
}

// checkCipherSuites refuses a security.ssl.algorithms with no suite the operator's client
// offers: every handshake would fail.
func checkCipherSuites(fc *v1beta1.FlinkCluster) error {
	v, ok := fc.Spec.FlinkProperties[SSLAlgorithmsKey]
	if !ok {
		return nil
	}
	offered := map[string]bool{}
	for _, s := range tls.CipherSuites() {
		offered[s.Name] = true
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
