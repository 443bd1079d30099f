package observer

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1client "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/typed/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/snapshot"
	"github.com/flink-operator/flink-operator/pkg/flinkclient"
)

// The keys of a REST TLS Secret (v1beta1.RESTTLSSpec): the names cert-manager and
// kubernetes.io/tls Secrets use.
const (
	RESTTLSCAKey   = "ca.crt"
	RESTTLSCertKey = "tls.crt"
	RESTTLSKeyKey  = "tls.key"
)

// How long a read of a REST TLS Secret is reused. The operator watches no Secrets (it would
// cache every Secret of the cluster), so a renewed certificate is noticed within
// RESTTLSReread; cert-manager renews a third of a certificate's life before it expires. A Secret
// that could not be used is read again sooner, so that a fix is noticed within RESTTLSRetry.
const (
	RESTTLSReread = 5 * time.Minute
	RESTTLSRetry  = snapshot.RESTTLSRetry
)

// restTLSSecrets reads the Secrets of spec.jobManager.restTLS with GETs and remembers each
// answer per Secret and server name, so that clusters sharing both share one read and one
// connection pool.
type restTLSSecrets struct {
	client corev1client.SecretsGetter
	mu     sync.Mutex
	known  map[string]restTLSAnswer
}

type restTLSAnswer struct {
	tls *flinkclient.TLS
	err string
	at  time.Time
}

// WithRESTTLS lets the observer read the Secrets that spec.jobManager.restTLS names; without it a
// cluster with restTLS is reported as unreachable over TLS.
func (o *Observer) WithRESTTLS(client corev1client.SecretsGetter) *Observer {
	o.restTLS = &restTLSSecrets{client: client, known: map[string]restTLSAnswer{}}
	return o
}

// restTLSFor is the TLS for the REST calls to a JobManager that serves HTTPS, or why there is
// none.
func (o *Observer) restTLSFor(ctx context.Context, fc *v1beta1.FlinkCluster, now time.Time) (*flinkclient.TLS, string) {
	spec := fc.Spec.JobManager.RESTTLS
	switch {
	case spec == nil:
		// TLS was turned off in a spec whose change waits for the job's next stop.
		return nil, "the running JobManager serves its REST API over TLS (the configuration it was started with) " +
			"but spec.jobManager.restTLS is not set: keep restTLS until the change has rolled out"
	case o.restTLS == nil:
		return nil, "spec.jobManager.restTLS: this operator reads no Secrets"
	}
	return o.restTLS.get(ctx, fc.Namespace, spec, now)
}

// clusterTLS is the TLS each cluster's current sync observed with: a cluster is synced by one
// worker at a time, so its sync's writes use exactly what its observation used, whatever
// another cluster sharing the Secret read since.
type clusterTLS struct {
	mu  sync.Mutex
	tls map[string]*flinkclient.TLS
}

func (c *clusterTLS) set(key string, t *flinkclient.TLS) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t == nil {
		delete(c.tls, key)
		return
	}
	if c.tls == nil {
		c.tls = map[string]*flinkclient.TLS{}
	}
	c.tls[key] = t
}

func (c *clusterTLS) get(key string) *flinkclient.TLS {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tls[key]
}

// RESTContext is ctx for the REST calls of a sync of snap's cluster: with the TLS its
// observation used, if any.
func (o *Observer) RESTContext(ctx context.Context, snap *snapshot.Snapshot) context.Context {
	if snap.Cluster == nil {
		return ctx
	}
	return flinkclient.WithTLS(ctx, o.syncTLS.get(snap.Cluster.Namespace+"/"+snap.Cluster.Name))
}

func restTLSKey(namespace string, spec *v1beta1.RESTTLSSpec) string {
	serverName := ""
	if spec.ServerName != nil {
		serverName = *spec.ServerName
	}
	return namespace + "/" + spec.SecretName + "|" + serverName
}

func (s *restTLSSecrets) get(ctx context.Context, namespace string, spec *v1beta1.RESTTLSSpec, now time.Time) (*flinkclient.TLS, string) {
	key := restTLSKey(namespace, spec)
	s.mu.Lock()
	prev, ok := s.known[key]
	s.mu.Unlock()
	if ok && now.Sub(prev.at) < rereadAfter(prev) {
		return prev.tls, prev.err
	}
	answer := s.read(ctx, namespace, spec, prev.tls)
	answer.at = now
	s.mu.Lock()
	s.known[key] = answer
	s.mu.Unlock()
	return answer.tls, answer.err
}

func rereadAfter(a restTLSAnswer) time.Duration {
	if a.err != "" {
		return RESTTLSRetry
	}
	return RESTTLSReread
}

// read GETs the Secret and parses it; an unchanged Secret (same resourceVersion) keeps prev, so
// its connections are kept too. When the API server does not answer, a good previous read is
// kept: a moment of API trouble must not stop every TLS cluster's polls.
func (s *restTLSSecrets) read(ctx context.Context, namespace string, spec *v1beta1.RESTTLSSpec, prev *flinkclient.TLS) restTLSAnswer {
	name, serverName := spec.SecretName, ""
	if spec.ServerName != nil {
		serverName = *spec.ServerName
	}
	field := fmt.Sprintf("spec.jobManager.restTLS.secretName: Secret %s/%s", namespace, name)
	secret, err := s.client.Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return restTLSAnswer{err: field + " not found"}
	case apierrors.IsForbidden(err):
		return restTLSAnswer{err: field + ": the operator may not read it; grant its ServiceAccount get on it " +
			"with a Role in this namespace (deploy/samples/rest-tls/operator-secret-reader.yaml)"}
	case err != nil && prev != nil:
		klog.FromContext(ctx).Info("Keeping the last REST TLS Secret read", "secret", namespace+"/"+name, "err", err)
		return restTLSAnswer{tls: prev}
	case err != nil:
		return restTLSAnswer{err: field + ": " + err.Error()}
	}
	if prev != nil && prev.Version == secret.ResourceVersion {
		return restTLSAnswer{tls: prev}
	}
	t, err := flinkclient.ParseTLS(namespace+"/"+name, secret.ResourceVersion, secret.Data[RESTTLSCAKey],
		secret.Data[RESTTLSCertKey], secret.Data[RESTTLSKeyKey], serverName)
	if err != nil {
		return restTLSAnswer{err: field + ": " + err.Error()}
	}
	return restTLSAnswer{tls: t}
}

// httpsURL is url with https instead of http: the URL templates name the plain scheme.
func httpsURL(url string) string {
	if rest, ok := strings.CutPrefix(url, "http://"); ok {
		return "https://" + rest
	}
	return url
}
