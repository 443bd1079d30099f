// Package submitwatch plays the kubelet for the operator's job submitters
// when the Flink side of a cluster is the simulator: it watches the
// submitter batch/v1 Jobs the operator creates and hands each one's command
// line to a Submitter (a *sim.Server), which starts the Flink job. An
// application-mode cluster's JobManager is a batch/v1 Job too, whose command
// runs the job: it is handed over the same way, and its deletion is the end
// of that JobManager process (JobManagerGone).
//
// The Job's pods themselves are left to whatever runs pods in the test
// cluster (kwok marks them complete); only the command line matters here.
package submitwatch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// The labels that mark a submitter Job. They must equal those of
// pkg/controller/names (a test checks it); they are repeated here so that
// this test tool does not depend on the controller packages.
const (
	LabelComponent      = "app.kubernetes.io/component"
	LabelManagedBy      = "app.kubernetes.io/managed-by"
	LabelCluster        = "flinkoperator.k8s.io/cluster"
	ComponentSubmitter  = "submitter"
	ComponentJobManager = "jobmanager"
	ManagedBy           = "flink-operator"
)

// Selector selects the submitter Jobs and application JobManager Jobs
// created by the operator.
func Selector() labels.Selector {
	component, _ := labels.NewRequirement(LabelComponent, selection.In, []string{ComponentSubmitter, ComponentJobManager})
	managed, _ := labels.NewRequirement(LabelManagedBy, selection.Equals, []string{ManagedBy})
	return labels.NewSelector().Add(*component, *managed)
}

// JobManagerStopper hears that an application JobManager's Job is gone: its
// process ended, and a JobManager without high availability forgets its
// jobs; *sim.Server implements it.
type JobManagerStopper interface {
	JobManagerGone(cluster string)
}

// Submitter starts a job from a submitter command line in cluster
// "namespace/name"; *sim.Server implements it.
type Submitter interface {
	Submit(cluster string, args []string) error
}

// ConfiguredSubmitter is a Submitter that also takes the cluster's Flink
// configuration (what Flink reads from the operator's ConfigMap, such as the
// checkpoint settings); *sim.Server implements it.
type ConfiguredSubmitter interface {
	SubmitConfigured(cluster string, conf map[string]string, args []string) error
}

// ConfigVolume is the name of the pod volume that holds the Flink
// configuration; it must equal pkg/controller/desired's.
const ConfigVolume = "flink-config"

// flinkConfKey is the flat `key: value` configuration file in that ConfigMap.
const flinkConfKey = "flink-conf.yaml"

// Result is the outcome of handling one submitter Job.
type Result struct {
	// Job is the submitter Job's namespace/name.
	Job string
	// Cluster is "namespace/name" of the FlinkCluster (empty if the label
	// is missing).
	Cluster string
	// Args is the main container's command followed by its args.
	Args []string
	// Err is the Submitter's error, or why the Job could not be handled.
	Err error
}

// ErrNoClusterLabel: a submitter Job lacks the flinkoperator.k8s.io/cluster
// label.
var ErrNoClusterLabel = errors.New("submitter job has no " + LabelCluster + " label")

// ErrNoContainer: a submitter Job's pod template has no container.
var ErrNoContainer = errors.New("submitter job has no container")

// Watcher watches submitter Jobs in all namespaces.
type Watcher struct {
	client   kubernetes.Interface
	sub      Submitter
	onResult func(Result)

	mu   sync.Mutex
	seen map[types.UID]struct{}
}

// New returns a Watcher. onResult, if not nil, is called after each
// submitter Job was handled (errors are also logged).
func New(client kubernetes.Interface, sub Submitter, onResult func(Result)) *Watcher {
	return &Watcher{client: client, sub: sub, onResult: onResult, seen: map[types.UID]struct{}{}}
}

// Run watches until ctx is done. It returns an error only if the informer
// cache could not sync.
func (w *Watcher) Run(ctx context.Context) error {
	logger := klog.FromContext(ctx)
	factory := informers.NewSharedInformerFactoryWithOptions(w.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = Selector().String() }))
	defer factory.Shutdown()
	inf := factory.Batch().V1().Jobs().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, initial bool) {
			if job, ok := obj.(*batchv1.Job); ok {
				w.handle(ctx, logger, job, initial)
			}
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if job, ok := obj.(*batchv1.Job); ok {
				w.mu.Lock()
				delete(w.seen, job.UID)
				w.mu.Unlock()
				w.gone(logger, job)
			}
		},
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("submitwatch: informer cache did not sync")
	}
	logger.Info("Watching job submitters", "selector", Selector().String())
	<-ctx.Done()
	return nil
}

// handle submits one new submitter Job. On the initial list (the watcher
// just started), Jobs that already finished are skipped: their submission
// happened before, and replaying it would start a job that ended long ago.
func (w *Watcher) handle(ctx context.Context, logger klog.Logger, job *batchv1.Job, initial bool) {
	if !Selector().Matches(labels.Set(job.Labels)) {
		return
	}
	if initial && finished(job) {
		return
	}
	w.mu.Lock()
	_, dup := w.seen[job.UID]
	w.seen[job.UID] = struct{}{}
	w.mu.Unlock()
	if dup {
		return
	}
	r := Result{Job: job.Namespace + "/" + job.Name}
	switch cs := job.Spec.Template.Spec.Containers; {
	case job.Labels[LabelCluster] == "":
		r.Err = ErrNoClusterLabel
	case len(cs) == 0:
		r.Err = ErrNoContainer
	default:
		r.Cluster = job.Namespace + "/" + job.Labels[LabelCluster]
		r.Args = commandLine(cs[0])
		r.Err = w.submit(ctx, job, r.Cluster, r.Args)
	}
	if r.Err != nil {
		logger.Error(r.Err, "Simulated job submission failed", "job", r.Job, "cluster", r.Cluster, "args", r.Args)
	} else {
		logger.Info("Simulated job submission", "job", r.Job, "cluster", r.Cluster)
	}
	if w.onResult != nil {
		w.onResult(r)
	}
}

// gone tells the Submitter that an application JobManager's Job is gone.
func (w *Watcher) gone(logger klog.Logger, job *batchv1.Job) {
	stopper, ok := w.sub.(JobManagerStopper)
	if !ok || job.Labels[LabelComponent] != ComponentJobManager || job.Labels[LabelCluster] == "" {
		return
	}
	cluster := job.Namespace + "/" + job.Labels[LabelCluster]
	stopper.JobManagerGone(cluster)
	logger.Info("Simulated application JobManager gone", "job", job.Namespace+"/"+job.Name, "cluster", cluster)
}

// submit hands the command line, and the cluster's Flink configuration when
// the Submitter takes it, to the Submitter.
func (w *Watcher) submit(ctx context.Context, job *batchv1.Job, cluster string, args []string) error {
	cs, ok := w.sub.(ConfiguredSubmitter)
	if !ok {
		return w.sub.Submit(cluster, args)
	}
	conf, err := w.flinkConfig(ctx, job)
	if err != nil {
		return err
	}
	return cs.SubmitConfigured(cluster, conf, args)
}

// flinkConfig reads the Flink configuration the submitter pod mounts (nil
// when it mounts none).
func (w *Watcher) flinkConfig(ctx context.Context, job *batchv1.Job) (map[string]string, error) {
	for _, v := range job.Spec.Template.Spec.Volumes {
		if v.Name != ConfigVolume || v.ConfigMap == nil {
			continue
		}
		cm, err := w.client.CoreV1().ConfigMaps(job.Namespace).Get(ctx, v.ConfigMap.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("reading the Flink configuration %s: %w", v.ConfigMap.Name, err)
		}
		return ParseFlatConfig(cm.Data[flinkConfKey]), nil
	}
	return nil, nil
}

// ParseFlatConfig reads flat `key: value` lines, as the operator writes
// flink-conf.yaml.
func ParseFlatConfig(text string) map[string]string {
	conf := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if ok && !strings.HasPrefix(strings.TrimSpace(k), "#") {
			conf[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return conf
}

// commandLine is what the container runs: command then args (the images'
// entrypoint runs args as a command when command is empty).
func commandLine(c corev1.Container) []string {
	out := make([]string, 0, len(c.Command)+len(c.Args))
	return append(append(out, c.Command...), c.Args...)
}

func finished(job *batchv1.Job) bool {
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// String describes a Result for logs and test failures.
func (r Result) String() string {
	return fmt.Sprintf("%s -> %s %q: %v", r.Job, r.Cluster, r.Args, r.Err)
}
