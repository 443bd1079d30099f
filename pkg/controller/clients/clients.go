// Package clients builds the operator's API clients: one typed client per API group it uses,
// instead of client-go's clientset. The clientset links and registers every API group Kubernetes
// has (about fifty), and its informer factory and discovery client bring each group's informers,
// listers and OpenAPI models with them; they were most of the operator's binary and so of its
// resident memory. Kube and Flink name only the groups the operator calls, so client-go's fake
// clientsets still stand in for them in tests.
package clients

import (
	"fmt"

	appsv1 "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/typed/apps/v1"
	authorizationv1 "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/typed/authorization/v1"
	autoscalingv2 "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/typed/autoscaling/v2"
	batchv1 "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/typed/batch/v1"
	coordinationv1 "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/typed/coordination/v1"
	corev1 "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/typed/core/v1"
	discoveryv1 "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/typed/discovery/v1"
	networkingv1 "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/typed/networking/v1"
	policyv1 "github.com/flink-operator/flink-operator/pkg/generated/kube/clientset/typed/policy/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"

	flinkv1beta1 "github.com/flink-operator/flink-operator/pkg/generated/clientset/versioned/typed/flinkoperator/v1beta1"
)

// Kube is the part of the Kubernetes API the operator calls.
type Kube interface {
	CoreV1() corev1.CoreV1Interface
	AppsV1() appsv1.AppsV1Interface
	BatchV1() batchv1.BatchV1Interface
	NetworkingV1() networkingv1.NetworkingV1Interface
	PolicyV1() policyv1.PolicyV1Interface
	AutoscalingV2() autoscalingv2.AutoscalingV2Interface
	DiscoveryV1() discoveryv1.DiscoveryV1Interface
	CoordinationV1() coordinationv1.CoordinationV1Interface
	AuthorizationV1() authorizationv1.AuthorizationV1Interface
}

// Flink is the FlinkCluster API.
type Flink interface {
	FlinkoperatorV1beta1() flinkv1beta1.FlinkoperatorV1beta1Interface
}

type kube struct {
	core          *corev1.CoreV1Client
	apps          *appsv1.AppsV1Client
	batch         *batchv1.BatchV1Client
	networking    *networkingv1.NetworkingV1Client
	policy        *policyv1.PolicyV1Client
	autoscaling   *autoscalingv2.AutoscalingV2Client
	discovery     *discoveryv1.DiscoveryV1Client
	coordination  *coordinationv1.CoordinationV1Client
	authorization *authorizationv1.AuthorizationV1Client
}

func (k *kube) CoreV1() corev1.CoreV1Interface                         { return k.core }
func (k *kube) AppsV1() appsv1.AppsV1Interface                         { return k.apps }
func (k *kube) BatchV1() batchv1.BatchV1Interface                      { return k.batch }
func (k *kube) NetworkingV1() networkingv1.NetworkingV1Interface       { return k.networking }
func (k *kube) PolicyV1() policyv1.PolicyV1Interface                   { return k.policy }
func (k *kube) AutoscalingV2() autoscalingv2.AutoscalingV2Interface    { return k.autoscaling }
func (k *kube) DiscoveryV1() discoveryv1.DiscoveryV1Interface          { return k.discovery }
func (k *kube) CoordinationV1() coordinationv1.CoordinationV1Interface { return k.coordination }
func (k *kube) AuthorizationV1() authorizationv1.AuthorizationV1Interface {
	return k.authorization
}

type flink struct {
	v1beta1 *flinkv1beta1.FlinkoperatorV1beta1Client
}

func (f *flink) FlinkoperatorV1beta1() flinkv1beta1.FlinkoperatorV1beta1Interface { return f.v1beta1 }

// New builds both clients over one HTTP client, so that every group shares its connections. As
// with the two clientsets it replaces, cfg's QPS and burst limit the Kubernetes groups together
// and the FlinkCluster API on its own.
func New(cfg *rest.Config) (Kube, Flink, error) {
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("building the HTTP client: %w", err)
	}
	kubeCfg, err := withRateLimiter(cfg)
	if err != nil {
		return nil, nil, err
	}
	flinkCfg, err := withRateLimiter(cfg)
	if err != nil {
		return nil, nil, err
	}
	var k kube
	var f flink
	builds := []func() error{
		func() (err error) { k.core, err = corev1.NewForConfigAndClient(kubeCfg, httpClient); return },
		func() (err error) { k.apps, err = appsv1.NewForConfigAndClient(kubeCfg, httpClient); return },
		func() (err error) { k.batch, err = batchv1.NewForConfigAndClient(kubeCfg, httpClient); return },
		func() (err error) {
			k.networking, err = networkingv1.NewForConfigAndClient(kubeCfg, httpClient)
			return
		},
		func() (err error) { k.policy, err = policyv1.NewForConfigAndClient(kubeCfg, httpClient); return },
		func() (err error) {
			k.autoscaling, err = autoscalingv2.NewForConfigAndClient(kubeCfg, httpClient)
			return
		},
		func() (err error) { k.discovery, err = discoveryv1.NewForConfigAndClient(kubeCfg, httpClient); return },
		func() (err error) {
			k.coordination, err = coordinationv1.NewForConfigAndClient(kubeCfg, httpClient)
			return
		},
		func() (err error) {
			k.authorization, err = authorizationv1.NewForConfigAndClient(kubeCfg, httpClient)
			return
		},
		func() (err error) { f.v1beta1, err = flinkv1beta1.NewForConfigAndClient(flinkCfg, httpClient); return },
	}
	for _, build := range builds {
		if err := build(); err != nil {
			return nil, nil, err
		}
	}
	return &k, &f, nil
}

// withRateLimiter gives a copy of cfg a token bucket of its own, as a clientset does for all of
// its groups together.
func withRateLimiter(cfg *rest.Config) (*rest.Config, error) {
	c := rest.CopyConfig(cfg)
	if c.RateLimiter == nil && c.QPS > 0 {
		if c.Burst <= 0 {
			return nil, fmt.Errorf("a client burst greater than 0 is required with a QPS of %v", c.QPS)
		}
		c.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(c.QPS, c.Burst)
	}
	return c, nil
}
