package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
)

var fcResource = schema.GroupVersionResource{Group: "flinkoperator.k8s.io", Version: "v1beta1", Resource: "flinkclusters"}

// The children whose creation ends "create -> all children": what the first sync of a job
// cluster creates. The submitter Job comes only once the Deployments are available, so it is
// part of "create -> job Running" instead.
var clusterChildren = []string{"configmap", "service", "jobmanager", "taskmanager"}

// record is what the harness saw of one FlinkCluster, in its own clock (the watch events'
// arrival): creationTimestamp has a resolution of one second, too coarse for the targets.
type record struct {
	createSent time.Time // the harness sent the create request
	created    time.Time // the create request returned
	added      time.Time // the FlinkCluster's ADDED event arrived
	children   map[string]time.Time
	submitter  time.Time
	jobRunning time.Time // first event with status.components.job.state == Running
	stopped    time.Time // first event with status.state == Stopped
	jobID      string
	jobState   string
	state      string
}

// allChildren is when the last of the cluster's children appeared (zero if one is missing).
func (r *record) allChildren() time.Time {
	var last time.Time
	for _, c := range clusterChildren {
		t, ok := r.children[c]
		if !ok {
			return time.Time{}
		}
		if t.After(last) {
			last = t
		}
	}
	return last
}

// tracker watches FlinkClusters and their children from the harness, i.e. from the cluster's
// side, and timestamps what it sees.
type tracker struct {
	mu   sync.Mutex
	recs map[string]*record
}

func newTracker() *tracker { return &tracker{recs: map[string]*record{}} }

func (t *tracker) get(key string) *record {
	r, ok := t.recs[key]
	if !ok {
		r = &record{children: map[string]time.Time{}}
		t.recs[key] = r
	}
	return r
}

// snapshot returns copies of the records of keys.
func (t *tracker) snapshot(keys []string) []record {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]record, 0, len(keys))
	for _, k := range keys {
		r := *t.get(k)
		r.children = make(map[string]time.Time, len(t.recs[k].children))
		for c, ts := range t.recs[k].children {
			r.children[c] = ts
		}
		out = append(out, r)
	}
	return out
}

// count returns how many of keys satisfy pred.
func (t *tracker) count(keys []string, pred func(*record) bool) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, k := range keys {
		if pred(t.get(k)) {
			n++
		}
	}
	return n
}

func (t *tracker) onCluster(obj interface{}, added bool) {
	now := time.Now()
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.get(u.GetNamespace() + "/" + u.GetName())
	if added && r.added.IsZero() {
		r.added = now
	}
	r.state, _, _ = unstructured.NestedString(u.Object, "status", "state")
	r.jobState, _, _ = unstructured.NestedString(u.Object, "status", "components", "job", "state")
	r.jobID, _, _ = unstructured.NestedString(u.Object, "status", "components", "job", "id")
	if r.jobState == "Running" && r.jobRunning.IsZero() {
		r.jobRunning = now
	}
	if r.state == "Stopped" && r.stopped.IsZero() {
		r.stopped = now
	}
}

func (t *tracker) onChild(resource string, obj interface{}) {
	now := time.Now()
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return
	}
	owner := metav1.GetControllerOf(m)
	if owner == nil || owner.Kind != "FlinkCluster" {
		return
	}
	kind := resource
	switch resource {
	case "deployments":
		switch {
		case strings.HasSuffix(m.Name, "-jobmanager"):
			kind = "jobmanager"
		case strings.HasSuffix(m.Name, "-taskmanager"):
			kind = "taskmanager"
		}
	case "configmaps":
		kind = "configmap"
	case "services":
		kind = "service"
	case "jobs":
		kind = "submitter"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.get(m.Namespace + "/" + owner.Name)
	if kind == "submitter" {
		if r.submitter.IsZero() {
			r.submitter = now
		}
		return
	}
	if _, seen := r.children[kind]; !seen {
		r.children[kind] = now
	}
}

// start runs the informers until ctx ends and waits for their first list.
func (t *tracker) start(ctx context.Context, dyn dynamic.Interface, meta metadata.Interface) error {
	df := dynamicinformer.NewDynamicSharedInformerFactory(dyn, 0)
	fcInf := df.ForResource(fcResource).Informer()
	// Keep only what the tracker reads: 5,000 full FlinkClusters would make the harness the
	// biggest process on the machine.
	_ = fcInf.SetTransform(func(obj interface{}) (interface{}, error) {
		if u, ok := obj.(*unstructured.Unstructured); ok {
			status, _, _ := unstructured.NestedMap(u.Object, "status")
			slim := &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": u.GetAPIVersion(), "kind": u.GetKind()}}
			slim.SetNamespace(u.GetNamespace())
			slim.SetName(u.GetName())
			slim.SetResourceVersion(u.GetResourceVersion())
			slim.SetUID(u.GetUID())
			if status != nil {
				slim.Object["status"] = status
			}
			return slim, nil
		}
		return obj, nil
	})
	if _, err := fcInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { t.onCluster(obj, true) },
		UpdateFunc: func(_, obj interface{}) { t.onCluster(obj, false) },
	}); err != nil {
		return err
	}
	mf := metadatainformer.NewFilteredSharedInformerFactory(meta, 0, metav1.NamespaceAll, func(o *metav1.ListOptions) {
		o.LabelSelector = "app.kubernetes.io/managed-by=flink-operator"
	})
	children := map[string]schema.GroupVersionResource{
		"configmaps":  {Version: "v1", Resource: "configmaps"},
		"services":    {Version: "v1", Resource: "services"},
		"deployments": {Group: "apps", Version: "v1", Resource: "deployments"},
		"jobs":        {Group: "batch", Version: "v1", Resource: "jobs"},
	}
	for res, gvr := range children {
		res := res
		inf := mf.ForResource(gvr).Informer()
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj interface{}) { t.onChild(res, obj) },
		}); err != nil {
			return err
		}
	}
	df.Start(ctx.Done())
	mf.Start(ctx.Done())
	for gvr, ok := range df.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("cache of %s did not sync", gvr)
		}
	}
	for gvr, ok := range mf.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("cache of %s did not sync", gvr)
		}
	}
	return nil
}
