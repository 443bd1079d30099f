package observer

import (
	"context"
	"testing"
	"time"

	"github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/fake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/flinkclient"
	"github.com/flink-operator/flink-operator/test/pki"
)

func tlsCluster(secret string) *v1beta1.FlinkCluster {
	return &v1beta1.FlinkCluster{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "c"},
		Spec: v1beta1.FlinkClusterSpec{JobManager: v1beta1.JobManagerSpec{RESTTLS: &v1beta1.RESTTLSSpec{SecretName: secret}}}}
}

// secrets serves one Secret and counts the GETs; forbidden answers 403 instead.
type secrets struct {
	secret    *corev1.Secret
	forbidden bool
	gets      int
}

func (s *secrets) client() *fake.Clientset {
	kube := fake.NewSimpleClientset()
	kube.PrependReactor("get", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		s.gets++
		name := a.(k8stesting.GetAction).GetName()
		gr := schema.GroupResource{Resource: "secrets"}
		switch {
		case s.forbidden:
			return true, nil, apierrors.NewForbidden(gr, name, nil)
		case s.secret == nil || s.secret.Name != name || s.secret.Namespace != a.GetNamespace():
			return true, nil, apierrors.NewNotFound(gr, name)
		}
		return true, s.secret.DeepCopy(), nil
	})
	return kube
}

func tlsSecret(t *testing.T, version string, data map[string][]byte) *corev1.Secret {
	t.Helper()
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "rest-tls", ResourceVersion: version}, Data: data}
}

func TestRESTTLSSecretIsReadAndChecked(t *testing.T) {
	ca, err := pki.NewCA("flink-ca")
	require.NoError(t, err)
	leaf, err := ca.Issue(pki.Names{CommonName: "flink-operator", Client: true})
	require.NoError(t, err)
	tests := []struct {
		name       string
		secrets    secrets
		wantMutual bool
		wantErr    string
	}{
		{name: "CA only", secrets: secrets{secret: tlsSecret(t, "1", map[string][]byte{"ca.crt": ca.PEM})}},
		{name: "CA and client certificate", wantMutual: true, secrets: secrets{secret: tlsSecret(t, "1",
			map[string][]byte{"ca.crt": ca.PEM, "tls.crt": leaf.CertPEM, "tls.key": leaf.KeyPEM})}},
		{name: "not found", wantErr: "spec.jobManager.restTLS.secretName: Secret team/rest-tls not found"},
		{name: "forbidden", secrets: secrets{forbidden: true},
			wantErr: "the operator may not read it; grant its ServiceAccount get on it with a Role in this namespace"},
		{name: "no CA", secrets: secrets{secret: tlsSecret(t, "1", map[string][]byte{"tls.crt": leaf.CertPEM, "tls.key": leaf.KeyPEM})},
			wantErr: "Secret team/rest-tls: ca.crt holds no PEM certificate"},
		{name: "certificate without key", secrets: secrets{secret: tlsSecret(t, "1", map[string][]byte{"ca.crt": ca.PEM, "tls.crt": leaf.CertPEM})},
			wantErr: "tls.crt without tls.key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := (&Observer{}).WithRESTTLS(tt.secrets.client().CoreV1())
			got, errMsg := o.restTLSFor(context.Background(), tlsCluster("rest-tls"), t0)
			if tt.wantErr != "" {
				assert.Contains(t, errMsg, tt.wantErr)
				assert.Nil(t, got)
				return
			}
			require.Empty(t, errMsg)
			require.NotNil(t, got)
			assert.Equal(t, "team/rest-tls", got.Source)
			assert.Equal(t, tt.wantMutual, got.MutualTLS())
		})
	}
}

// The Secret is read again only when due: soon after a failure (a fix is noticed), rarely after
// a success (a renewed certificate is noticed); an unchanged Secret keeps its TLS (and so its
// connection pool), a changed one gets a new one.
func TestRESTTLSSecretIsReadAgainOnlyWhenDue(t *testing.T) {
	ca, err := pki.NewCA("flink-ca")
	require.NoError(t, err)
	s := &secrets{}
	o := (&Observer{}).WithRESTTLS(s.client().CoreV1())
	fc := tlsCluster("rest-tls")
	read := func(at time.Duration) (*flinkclient.TLS, string) {
		return o.restTLSFor(context.Background(), fc, t0.Add(at))
	}

	_, errMsg := read(0)
	assert.Contains(t, errMsg, "not found")
	s.secret = tlsSecret(t, "1", map[string][]byte{"ca.crt": ca.PEM})
	_, errMsg = read(RESTTLSRetry - time.Second)
	assert.Contains(t, errMsg, "not found", "a failure is reused until the retry interval")
	assert.Equal(t, 1, s.gets)

	first, errMsg := read(RESTTLSRetry)
	require.Empty(t, errMsg, "a Secret created since is read after the retry interval")
	assert.Equal(t, 2, s.gets)

	again, _ := read(RESTTLSRetry + RESTTLSReread - time.Second)
	assert.Same(t, first, again)
	assert.Equal(t, 2, s.gets, "a success is reused until the reread interval")

	again, _ = read(RESTTLSRetry + RESTTLSReread)
	assert.Equal(t, 3, s.gets)
	assert.Same(t, first, again, "an unchanged Secret keeps its TLS")

	s.secret = tlsSecret(t, "2", map[string][]byte{"ca.crt": ca.PEM})
	renewed, _ := read(RESTTLSRetry + 2*RESTTLSReread)
	assert.NotSame(t, first, renewed)
	assert.Equal(t, "2", renewed.Version)
}

func TestRESTTLSWithoutSecretAccessOrSpec(t *testing.T) {
	got, errMsg := (&Observer{}).restTLSFor(context.Background(), tlsCluster("rest-tls"), t0)
	assert.Nil(t, got)
	assert.Contains(t, errMsg, "spec.jobManager.restTLS")
	got, errMsg = (&Observer{}).restTLSFor(context.Background(), &v1beta1.FlinkCluster{}, t0)
	assert.Nil(t, got)
	assert.Contains(t, errMsg, "keep restTLS until the change has rolled out", "a JobManager serving HTTPS, restTLS removed")
}

// A read that the API server does not answer keeps the last good one: every TLS cluster would
// otherwise stop polling for a moment of API trouble. A Secret that is gone is reported.
func TestRESTTLSKeepsTheLastGoodReadWhenTheAPIServerFails(t *testing.T) {
	ca, err := pki.NewCA("flink-ca")
	require.NoError(t, err)
	s := &secrets{secret: tlsSecret(t, "1", map[string][]byte{"ca.crt": ca.PEM})}
	kube := s.client()
	failing := false
	kube.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return failing, nil, apierrors.NewServiceUnavailable("etcd leader changed")
	})
	o := (&Observer{}).WithRESTTLS(kube.CoreV1())
	first, errMsg := o.restTLSFor(context.Background(), tlsCluster("rest-tls"), t0)
	require.Empty(t, errMsg)
	failing = true
	kept, errMsg := o.restTLSFor(context.Background(), tlsCluster("rest-tls"), t0.Add(RESTTLSReread))
	assert.Empty(t, errMsg)
	assert.Same(t, first, kept)
	failing, s.secret = false, nil
	gone, errMsg := o.restTLSFor(context.Background(), tlsCluster("rest-tls"), t0.Add(2*RESTTLSReread))
	assert.Nil(t, gone)
	assert.Contains(t, errMsg, "not found")
}

func TestHTTPSURL(t *testing.T) {
	assert.Equal(t, "https://c-jobmanager.team.svc:8081", httpsURL("http://c-jobmanager.team.svc:8081"))
	assert.Equal(t, "https://proxy:443/c", httpsURL("https://proxy:443/c"))
	assert.Equal(t, "", httpsURL(""))
}
