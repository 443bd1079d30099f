package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

const (
	crdName = "flinkclusters.flinkoperator.k8s.io"
	// admissionCreates per round, one after the other (the issue measured 100; more make the API
	// server's garbage collections, which the rules' garbage drives, weigh alike in every round).
	admissionCreates = 300
	// admissionRounds alternate the two schemas, so that a slower stretch of the machine weighs on
	// both; the median of each is reported.
	admissionRounds = 9
	// admissionWarmup creates are not timed: the first requests after a schema change build the
	// API server's new validators and caches.
	admissionWarmup = 20
	// A name longer than 45 characters is refused by a CEL rule only: it tells when the API server
	// serves the schema just written.
	probeName = "admission-probe-name-longer-than-forty-five-chars"
)

// admissionResult is the API server's time for the bench's FlinkCluster created with the CRD's
// CEL rules and with the same CRD without them.
type admissionResult struct {
	Creates, Rounds int
	With, Without   time.Duration // the median round of Creates server-side dry-run creates
}

// Overhead is what the rules add, as a fraction of the time without them.
func (a admissionResult) Overhead() float64 {
	if a.Without <= 0 {
		return 0
	}
	return float64(a.With)/float64(a.Without) - 1
}

func (a admissionResult) String() string {
	if a.Creates == 0 {
		return "-"
	}
	return fmt.Sprintf("%s with the rules, %s without: +%.0f%% (%d creates, median of %d rounds)",
		fmtDur(a.With), fmtDur(a.Without), 100*a.Overhead(), a.Creates, a.Rounds)
}

// admission measures what the CRD's CEL rules cost the API server for a FlinkCluster create:
// admissionCreates server-side dry-run creates in a row (nothing is stored, and the operator
// sees nothing), under the CRD as installed and under a copy without any
// x-kubernetes-validations, alternating; the installed CRD is put back at the end.
func (e *env) admission(ctx context.Context) (admissionResult, error) {
	crds := e.dyn.Resource(crdResource)
	orig, err := crds.Get(ctx, crdName, metav1.GetOptions{})
	if err != nil {
		return admissionResult{}, err
	}
	stripped := orig.DeepCopy()
	stripValidations(stripped.Object["spec"])
	const ns = "bench-admission"
	if err := e.namespace(ctx, ns); err != nil {
		return admissionResult{}, err
	}
	var with, without []time.Duration
	for i := 0; i < admissionRounds; i++ {
		for _, v := range []struct {
			crd   *unstructured.Unstructured
			rules bool
			into  *[]time.Duration
		}{{stripped, false, &without}, {orig, true, &with}} {
			if err := e.serveSchema(ctx, v.crd, v.rules); err != nil {
				return admissionResult{}, err
			}
			if _, err := e.dryRunCreates(ctx, ns, admissionWarmup); err != nil {
				return admissionResult{}, err
			}
			d, err := e.dryRunCreates(ctx, ns, admissionCreates)
			if err != nil {
				return admissionResult{}, err
			}
			*v.into = append(*v.into, d)
		}
	}
	return admissionResult{Creates: admissionCreates, Rounds: admissionRounds, With: median(with), Without: median(without)}, nil
}

// stripValidations removes every x-kubernetes-validations below v.
func stripValidations(v any) {
	switch t := v.(type) {
	case map[string]any:
		delete(t, "x-kubernetes-validations")
		for _, c := range t {
			stripValidations(c)
		}
	case []any:
		for _, c := range t {
			stripValidations(c)
		}
	}
}

// serveSchema writes crd's spec and waits until the API server admits with it: the probe is
// refused exactly when the rules are in force.
func (e *env) serveSchema(ctx context.Context, crd *unstructured.Unstructured, rules bool) error {
	crds := e.dyn.Resource(crdResource)
	live, err := crds.Get(ctx, crdName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	live.Object["spec"] = crd.DeepCopy().Object["spec"]
	if _, err := crds.Update(ctx, live, metav1.UpdateOptions{}); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		err := e.dryRunCreate(ctx, "bench-admission", probeName)
		refused := err != nil && strings.Contains(err.Error(), "metadata.name")
		if refused == rules {
			return nil
		}
		if err != nil && !refused {
			return fmt.Errorf("probe: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the API server did not serve the CRD (rules %v) within a minute", rules)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// dryRunCreates times count server-side dry-run creates of the bench's job cluster, one after
// the other, as kubectl create --dry-run=server sends a list.
func (e *env) dryRunCreates(ctx context.Context, ns string, count int) (time.Duration, error) {
	start := time.Now()
	for i := 0; i < count; i++ {
		if err := e.dryRunCreate(ctx, ns, fmt.Sprintf("admission-%03d", i)); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

func (e *env) dryRunCreate(ctx context.Context, ns, name string) error {
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON([]byte(fmt.Sprintf(jobClusterTemplate, name, ns))); err != nil {
		return err
	}
	_, err := e.dyn.Resource(fcResource).Namespace(ns).Create(ctx, obj, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	return err
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration{}, ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
