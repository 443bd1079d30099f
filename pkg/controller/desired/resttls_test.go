package desired

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
)

// The operator calls HTTPS exactly when restTLS is set, so a spec where Flink's switch and
// restTLS disagree is refused with both field names, before any pod starts.
func TestRESTTLSAgreesWithFlinkProperties(t *testing.T) {
	withTLS := &v1beta1.RESTTLSSpec{SecretName: "flink-rest-tls"}
	tests := []struct {
		name    string
		version string // spec.flinkVersion
		props   map[string]string
		restTLS *v1beta1.RESTTLSSpec
		wantErr string
	}{
		{name: "plain HTTP"},
		{name: "TLS on both sides", props: map[string]string{RESTSSLEnabledKey: "true"}, restTLS: withTLS},
		{name: "TLS on both sides, Flink's spelling", props: map[string]string{RESTSSLEnabledKey: " True"}, restTLS: withTLS},
		{name: "Flink 1.x: the older switch for both", version: "1.20", props: map[string]string{"security.ssl.enabled": "true"}, restTLS: withTLS},
		{name: "Flink 2.x knows no older switch", version: "2.3", props: map[string]string{"security.ssl.enabled": "true"}},
		{name: "the newer switch wins over the older", props: map[string]string{RESTSSLEnabledKey: "false", "security.ssl.enabled": "true"}},
		{name: "Flink serves HTTPS, the operator would call HTTP", props: map[string]string{RESTSSLEnabledKey: "true"},
			wantErr: `spec.flinkProperties["security.ssl.rest.enabled"] is true: set spec.jobManager.restTLS.secretName`},
		{name: "the operator would call HTTPS, Flink serves HTTP", restTLS: withTLS,
			wantErr: `spec.jobManager.restTLS is set but spec.flinkProperties do not set "security.ssl.rest.enabled": "true"`},
		{name: "switched off explicitly", props: map[string]string{RESTSSLEnabledKey: "false"}, restTLS: withTLS,
			wantErr: "spec.jobManager.restTLS is set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := base()
			fc.Spec.FlinkProperties = nil
			for k, v := range tt.props {
				if fc.Spec.FlinkProperties == nil {
					fc.Spec.FlinkProperties = map[string]v1beta1.FlinkPropertyValue{}
				}
				fc.Spec.FlinkProperties[k] = v1beta1.FlinkPropertyValue(v)
			}
			fc.Spec.JobManager.RESTTLS = tt.restTLS
			if tt.version != "" {
				fc.Spec.FlinkVersion = tt.version
			}
			_, err := Build(fc, Env{})
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}
