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
		{name: "restTLS kept while Flink serves HTTP (turning TLS off)", restTLS: withTLS},
		{name: "Flink 1.x: the older switch without restTLS", version: "1.20", props: map[string]string{"security.ssl.enabled": "true"},
			wantErr: `spec.flinkProperties["security.ssl.enabled"] is true`},
		{name: "suites the client offers", restTLS: withTLS,
			props: map[string]string{RESTSSLEnabledKey: "true", SSLAlgorithmsKey: "TLS_RSA_WITH_AES_128_CBC_SHA, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"}},
		{name: "Flink's default suite alone: no handshake would succeed", restTLS: withTLS,
			props:   map[string]string{RESTSSLEnabledKey: "true", SSLAlgorithmsKey: "TLS_RSA_WITH_AES_128_CBC_SHA"},
			wantErr: `spec.flinkProperties["security.ssl.algorithms"]: none of "TLS_RSA_WITH_AES_128_CBC_SHA" is a cipher suite the operator's TLS client offers`},
		{name: "TLS 1.3 suites alone with Flink's default protocol (TLSv1.2)", restTLS: withTLS,
			props:   map[string]string{RESTSSLEnabledKey: "true", SSLAlgorithmsKey: "TLS_AES_128_GCM_SHA256"},
			wantErr: `none of "TLS_AES_128_GCM_SHA256"`},
		{name: "TLS 1.3 suites with TLSv1.3", restTLS: withTLS,
			props: map[string]string{RESTSSLEnabledKey: "true", SSLAlgorithmsKey: "TLS_AES_128_GCM_SHA256", "security.ssl.protocol": "TLSv1.3"}},
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

// With restTLS the configuration names suites Go's client offers, since Flink's default (RSA key
// exchange) shares none with it; the user's own list wins.
func TestRESTTLSCipherSuites(t *testing.T) {
	fc := base()
	fc.Spec.FlinkProperties = map[string]v1beta1.FlinkPropertyValue{RESTSSLEnabledKey: "true"}
	fc.Spec.JobManager.RESTTLS = &v1beta1.RESTTLSSpec{SecretName: "flink-rest-tls"}
	c, err := Build(fc, Env{})
	require.NoError(t, err)
	assert.Contains(t, c.ConfigMap.Data[FlinkConfV1Key], SSLAlgorithmsKey+": "+RESTTLSCipherSuites)

	fc.Spec.FlinkProperties[SSLAlgorithmsKey] = "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
	c, err = Build(fc, Env{})
	require.NoError(t, err)
	assert.Contains(t, c.ConfigMap.Data[FlinkConfV1Key], SSLAlgorithmsKey+": TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")

	fc.Spec.JobManager.RESTTLS, fc.Spec.FlinkProperties = nil, nil
	c, err = Build(fc, Env{})
	require.NoError(t, err)
	assert.NotContains(t, c.ConfigMap.Data[FlinkConfV1Key], SSLAlgorithmsKey, "plain HTTP keeps Flink's defaults")
}

// The scheme the operator calls is the one the ConfigMap's configuration serves (the running
// JobManager's, while a job runs), marked by an annotation the cache keeps; before there is a
// ConfigMap, the spec's.
func TestServesRESTTLS(t *testing.T) {
	fc := base()
	fc.Spec.FlinkProperties = map[string]v1beta1.FlinkPropertyValue{RESTSSLEnabledKey: "true"}
	fc.Spec.JobManager.RESTTLS = &v1beta1.RESTTLSSpec{SecretName: "flink-rest-tls"}
	withTLS, err := Build(fc, Env{})
	require.NoError(t, err)
	plain, err := Build(base(), Env{})
	require.NoError(t, err)
	assert.NotContains(t, plain.ConfigMap.Annotations, RESTTLSAnnotation, "no annotation, so a plain cluster's ConfigMap is unchanged")

	assert.True(t, ServesRESTTLS(fc, nil), "no ConfigMap yet: the spec")
	assert.False(t, ServesRESTTLS(base(), nil))
	assert.True(t, ServesRESTTLS(base(), withTLS.ConfigMap), "the running configuration wins over a spec that turned TLS off")
	assert.False(t, ServesRESTTLS(fc, plain.ConfigMap), "the running configuration wins over a spec that turned TLS on")
}
