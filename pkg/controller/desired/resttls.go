package desired

import (
	"errors"
	"strings"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// Flink's switch for TLS on the REST API, and the older key Flink 1.x falls back to (2.x no
// longer knows it).
const (
	RESTSSLEnabledKey   = "security.ssl.rest.enabled"
	legacySSLEnabledKey = "security.ssl.enabled"
)

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
	}
	return nil
}
