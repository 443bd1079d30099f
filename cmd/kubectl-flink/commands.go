package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/flink-operator/flink-operator/pkg/apis/flinkoperator/v1beta1"
	"github.com/flink-operator/flink-operator/pkg/controller/names"
	"github.com/flink-operator/flink-operator/pkg/generated/clientset/versioned"
)

// plugin runs one command against one namespace.
type plugin struct {
	client    versioned.Interface
	namespace string
	out       io.Writer
	// server is the API server's URL, for the dashboard through its service proxy.
	server  string
	poll    time.Duration
	timeout time.Duration
	now     func() time.Time
}

func (p *plugin) run(ctx context.Context, command string, args []string) error {
	name := args[0]
	switch {
	case command == "status" && len(args) == 1:
		return p.status(ctx, name)
	case command == "savepoint" && len(args) == 1:
		return p.savepoint(ctx, name)
	case command == "cancel" && len(args) == 1:
		return p.patchJob(ctx, name, map[string]any{"cancelRequested": true},
			"cancel requested: the job is stopped for good (with a savepoint when savepointsDir is set)")
	case command == "suspend" && len(args) == 1:
		return p.patchJob(ctx, name, map[string]any{"state": v1beta1.JobDesiredStateSuspended},
			"suspend requested: the job is stopped the way upgradeMode says and its TaskManagers deleted; `kubectl flink resume "+name+"` starts it again")
	case command == "resume" && len(args) == 1:
		return p.patchJob(ctx, name, map[string]any{"state": v1beta1.JobDesiredStateRunning},
			"resume requested: the job starts again from what its suspension left")
	case command == "restore" && len(args) == 2:
		return p.restore(ctx, name, args[1])
	case command == "ui" && len(args) == 1:
		return p.ui(ctx, name)
	}
	return fmt.Errorf("%w: unknown command or wrong arguments: %s %s", errUsage, command, strings.Join(args, " "))
}

func (p *plugin) get(ctx context.Context, name string) (*v1beta1.FlinkCluster, error) {
	return p.client.FlinkoperatorV1beta1().FlinkClusters(p.namespace).Get(ctx, name, metav1.GetOptions{})
}

// jobCluster reads a FlinkCluster that has a job; session clusters have none to act on.
func (p *plugin) jobCluster(ctx context.Context, name string) (*v1beta1.FlinkCluster, v1beta1.JobStatus, error) {
	fc, err := p.get(ctx, name)
	if err != nil {
		return nil, v1beta1.JobStatus{}, err
	}
	if fc.Spec.Job == nil {
		return nil, v1beta1.JobStatus{}, fmt.Errorf("%s/%s is a session cluster: it has no job", p.namespace, name)
	}
	job := v1beta1.JobStatus{}
	if fc.Status.Components.Job != nil {
		job = *fc.Status.Components.Job
	}
	return fc, job, nil
}

// patchJob merges fields into spec.job; the API server's validation answers for them.
func (p *plugin) patchJob(ctx context.Context, name string, fields map[string]any, done string) error {
	if _, _, err := p.jobCluster(ctx, name); err != nil {
		return err
	}
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"job": fields}})
	if err != nil {
		return err
	}
	_, err = p.client.FlinkoperatorV1beta1().FlinkClusters(p.namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(p.out, "flinkcluster/%s: %s\n", name, done)
	return err
}

// savepoint asks for a savepoint through savepointGeneration and waits until status counts it.
// A failed attempt is reported as it happens (the operator tries again a few times).
func (p *plugin) savepoint(ctx context.Context, name string) error {
	fc, job, err := p.jobCluster(ctx, name)
	if err != nil {
		return err
	}
	if fc.Spec.Job.SavepointsDir == nil || *fc.Spec.Job.SavepointsDir == "" {
		return fmt.Errorf("%s/%s has no spec.job.savepointsDir: the operator takes no savepoints", p.namespace, name)
	}
	want := job.SavepointGeneration + 1
	if err := p.patchJob(ctx, name, map[string]any{"savepointGeneration": want},
		fmt.Sprintf("savepoint %d requested, waiting", want)); err != nil {
		return err
	}
	deadline := p.now().Add(p.timeout)
	reported := job.UserSavepointFailures
	for {
		_, job, err = p.jobCluster(ctx, name)
		if err != nil {
			return err
		}
		if job.SavepointGeneration >= want {
			_, err = fmt.Fprintf(p.out, "savepoint %d: %s\n", want, job.SavepointLocation)
			return err
		}
		if job.UserSavepointFailures > reported {
			reported = job.UserSavepointFailures
			if _, err := fmt.Fprintf(p.out, "attempt %d failed: %s\n", reported, lastUserSavepointMessage(job)); err != nil {
				return err
			}
		}
		if !p.now().Before(deadline) {
			return fmt.Errorf("savepoint %d not taken within %s (job %s); `kubectl flink status %s` says why", want, p.timeout, orDash(string(job.State)), name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(p.poll):
		}
	}
}

func lastUserSavepointMessage(job v1beta1.JobStatus) string {
	for _, sp := range append([]v1beta1.SavepointOperation{ptr.Deref(job.Savepoint, v1beta1.SavepointOperation{})}, job.SavepointHistory...) {
		if sp.Reason == v1beta1.SavepointReasonUser && sp.State == v1beta1.SavepointStateFailed {
			return sp.Message
		}
	}
	return "no message"
}

// restore asks for a restart from the savepoint at path: restoreGeneration above both the
// spec's and the status's (it never decreases).
func (p *plugin) restore(ctx context.Context, name, path string) error {
	fc, job, err := p.jobCluster(ctx, name)
	if err != nil {
		return err
	}
	next := max(fc.Spec.Job.RestoreGeneration, job.RestoreGeneration) + 1
	return p.patchJob(ctx, name, map[string]any{"fromSavepoint": path, "restoreGeneration": next},
		fmt.Sprintf("restore %d requested: the job is stopped the way an update would stop it and restarted from %s", next, path))
}

// ui prints where the Flink dashboard is: the URL the operator reports (--dashboard-url-template),
// the Ingress's URLs when the cluster has one, and the API server's service proxy, which needs no
// change to the cluster.
func (p *plugin) ui(ctx context.Context, name string) error {
	fc, err := p.get(ctx, name)
	if err != nil {
		return err
	}
	if u := fc.Status.Components.JobManagerService.DashboardURL; u != "" {
		if _, err := fmt.Fprintf(p.out, "%s\n", u); err != nil {
			return err
		}
	}
	if in := fc.Status.Components.JobManagerIngress; in != nil {
		for _, u := range in.URLs {
			if _, err := fmt.Fprintf(p.out, "%s\n", u); err != nil {
				return err
			}
		}
	}
	path := fmt.Sprintf("/api/v1/namespaces/%s/services/%s:ui/proxy/", p.namespace, names.JobManagerService(name))
	_, err = fmt.Fprintf(p.out, "%s%s\n(through the API server; in a browser run `kubectl proxy` and open http://127.0.0.1:8001%s)\n",
		strings.TrimSuffix(p.server, "/"), path, path)
	return err
}

// status prints one screen about the cluster.
func (p *plugin) status(ctx context.Context, name string) error {
	fc, err := p.get(ctx, name)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(p.out, 0, 4, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(w, "%s\t"+format+"\n", append([]any{k}, a...)...) }
	row("FlinkCluster", "%s/%s", fc.Namespace, fc.Name)
	row("Cluster", "%s", orDash(string(fc.Status.State)))
	if j := fc.Status.Components.Job; j != nil {
		row("Job", "%s (Flink: %s)", orDash(string(j.State)), orDash(j.FlinkJobState))
		row("Job ID", "%s (attempt %d)", orDash(j.ID), j.Attempt)
		row("Restarts", "%d by the operator, %d recoveries by Flink", j.RestartCount, j.FlinkRecoveries)
		row("Savepoint", "%s", p.savepointLine(j))
		row("Checkpoint", "%s", p.checkpointLine(j))
		if r := j.Rollback; r != nil && r.State != "" {
			row("Rollback", "%s (%s): %s", r.State, r.Reason, r.Message)
		}
		if j.Message != "" {
			row("Message", "%s", j.Message)
		}
	}
	row("Conditions", "")
	for _, c := range fc.Status.Conditions {
		row("  "+c.Type, "%s %s: %s", c.Status, c.Reason, c.Message)
	}
	return w.Flush()
}

func (p *plugin) savepointLine(j *v1beta1.JobStatus) string {
	if j.SavepointLocation == "" {
		return "none yet"
	}
	return fmt.Sprintf("%s (%d taken, last %s)", j.SavepointLocation, j.SavepointGeneration, p.ago(j.LastSavepointTime))
}

func (p *plugin) checkpointLine(j *v1beta1.JobStatus) string {
	cp := j.LatestCheckpoint
	if cp == nil {
		return "not recorded (recorded for jobs that resume from their latest state)"
	}
	return fmt.Sprintf("%d at %s (completed %s)", cp.ID, cp.Location, p.ago(cp.CompletionTime))
}

func (p *plugin) ago(t *metav1.Time) string {
	if t == nil {
		return "-"
	}
	return p.now().Sub(t.Time).Truncate(time.Second).String() + " ago"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
