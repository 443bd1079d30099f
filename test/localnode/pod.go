//go:build flink

package localnode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// podRunner runs one pod: volumes, then its init containers one after another, then its
// containers, restarting them as the pod's restartPolicy says, and reports all of it in the pod's
// status the way a kubelet does.
type podRunner struct {
	node  *Node
	pod   *corev1.Pod
	dir   string
	podIP string // what the API shows
	// localIP is the loopback address the pod's processes listen on (localIPFor(podIP)).
	localIP string

	stopOnce sync.Once
	stopped  chan struct{}
	grace    time.Duration

	mu         sync.Mutex
	mounts     map[string]string // container mountPath → local directory, per container name
	ports      map[string]int    // "container/port name or number" → local port
	init       []*containerState
	containers []*containerState
	startTime  metav1.Time
	failure    string // why the pod cannot run (shown as the waiting reason)
}

type containerState struct {
	// runStarts are the offsets in the container's log file where each run began (kubectl logs
	// and --previous read one run); guarded by the pod's mu.
	runStarts    []int64
	spec         corev1.Container
	proc         *exec.Cmd
	done         chan struct{}
	status       corev1.ContainerStatus
	killed       bool
	readyProbing bool
	// held, while not nil, keeps the container from being restarted until it is closed (a
	// process whose machine is gone: it does not come back by the next restart).
	held chan struct{}
}

func newPodRunner(n *Node, pod *corev1.Pod, dir string, podIP string) *podRunner {
	r := &podRunner{node: n, pod: pod.DeepCopy(), dir: dir, podIP: podIP, localIP: localIPFor(podIP), stopped: make(chan struct{}), startTime: metav1.Now(), ports: map[string]int{}}
	for _, c := range pod.Spec.InitContainers {
		r.init = append(r.init, newContainerState(c))
	}
	for _, c := range pod.Spec.Containers {
		r.containers = append(r.containers, newContainerState(c))
	}
	return r
}

func newContainerState(c corev1.Container) *containerState {
	return &containerState{spec: c, status: corev1.ContainerStatus{
		Name: c.Name, Image: c.Image, ImageID: "local://" + c.Image,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}},
	}}
}

func (r *podRunner) logf(format string, args ...any) {
	r.node.opts.Logf("localnode: pod %s/%s: "+format, append([]any{r.pod.Namespace, r.pod.Name}, args...)...)
}

// stop asks the pod's processes to end: SIGTERM, then SIGKILL after grace.
func (r *podRunner) stop(grace time.Duration) {
	r.stopOnce.Do(func() {
		r.grace = grace
		close(r.stopped)
	})
}

func (r *podRunner) stopping() bool {
	select {
	case <-r.stopped:
		return true
	default:
		return false
	}
}

func (r *podRunner) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-r.stopped:
		case <-ctx.Done():
		}
		cancel()
	}()
	r.writeStatus(ctx)
	if err := r.prepare(ctx); err != nil {
		r.logf("cannot run: %v", err)
		r.mu.Lock()
		r.failure = err.Error()
		r.mu.Unlock()
		r.writeStatus(ctx)
		<-ctx.Done()
		return
	}
	for _, c := range r.init {
		if !r.runInit(ctx, c) {
			r.finish(ctx)
			return
		}
	}
	var wg sync.WaitGroup
	for _, c := range r.containers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.runContainer(ctx, c)
		}()
	}
	wg.Wait()
	r.finish(ctx)
}

// prepare makes the pod directory, its volumes and its ports.
func (r *podRunner) prepare(ctx context.Context) error {
	if err := mkdirAll(r.dir); err != nil {
		return err
	}
	volumes, err := r.materializeVolumes(ctx)
	if err != nil {
		return err
	}
	r.mounts = map[string]string{}
	for _, c := range append(append([]corev1.Container{}, r.pod.Spec.InitContainers...), r.pod.Spec.Containers...) {
		for _, m := range c.VolumeMounts {
			local, ok := volumes[m.Name]
			if !ok {
				return fmt.Errorf("container %s mounts unknown volume %q", c.Name, m.Name)
			}
			if m.SubPath != "" {
				local = filepath.Join(local, m.SubPath)
			}
			r.mounts[c.Name+"\x00"+m.MountPath] = local
		}
	}
	return r.allocatePorts(ctx)
}

// runInit runs one init container to completion; false when it failed and the pod is over.
func (r *podRunner) runInit(ctx context.Context, c *containerState) bool {
	for attempt := 0; ; attempt++ {
		code, err := r.runOnce(ctx, c)
		if ctx.Err() != nil {
			return false
		}
		if err == nil && code == 0 {
			return true
		}
		if r.pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
			return false
		}
		if !r.sleep(ctx, r.node.opts.RestartDelay) {
			return false
		}
	}
}

// runContainer runs a container and restarts it as the restart policy says.
func (r *podRunner) runContainer(ctx context.Context, c *containerState) {
	for {
		code, err := r.runOnce(ctx, c)
		if ctx.Err() != nil {
			return
		}
		switch r.pod.Spec.RestartPolicy {
		case corev1.RestartPolicyNever:
			return
		case corev1.RestartPolicyOnFailure:
			if err == nil && code == 0 {
				return
			}
		}
		r.logf("container %s exited (code %d, %v): restarting in %s", c.spec.Name, code, err, r.node.opts.RestartDelay)
		if err != nil || code != 0 {
			r.event(corev1.EventTypeWarning, "BackOff", "Back-off restarting failed container %s in pod %s", c.spec.Name, r.pod.Name)
		}
		if !r.sleep(ctx, r.node.opts.RestartDelay) || !r.awaitRelease(ctx, c) {
			return
		}
		r.mu.Lock()
		c.status.RestartCount++
		r.mu.Unlock()
	}
}

// awaitRelease waits while the container's restart is held; false when the pod stopped.
func (r *podRunner) awaitRelease(ctx context.Context, c *containerState) bool {
	r.mu.Lock()
	held := c.held
	r.mu.Unlock()
	if held == nil {
		return true
	}
	select {
	case <-ctx.Done():
		return false
	case <-held:
		return true
	}
}

func (r *podRunner) sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// runOnce starts the container's process, reports it running, and waits for it to exit (or for
// the pod to stop: SIGTERM, then SIGKILL after the grace period). It returns the exit code.
func (r *podRunner) runOnce(ctx context.Context, c *containerState) (int, error) {
	id, err := containerIdentity(r.pod, c.spec)
	if err != nil {
		r.logf("container %s: %v", c.spec.Name, err)
		r.setTerminated(ctx, c, 128, "CreateContainerConfigError", err.Error())
		return 128, err
	}
	cmd, err := r.command(ctx, c.spec, id)
	if err != nil {
		r.event(corev1.EventTypeWarning, "Failed", "Error: %v", err)
		r.logf("container %s: %v", c.spec.Name, err)
		r.setTerminated(ctx, c, 128, "StartError", err.Error())
		return 128, err
	}
	cred, err := id.credential()
	if err != nil {
		r.setTerminated(ctx, c, 128, "StartError", err.Error())
		return 128, err
	}
	logFile, err := os.OpenFile(filepath.Join(r.dir, c.spec.Name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return 128, err
	}
	defer logFile.Close()
	var logStart int64
	if st, err := logFile.Stat(); err == nil {
		logStart = st.Size()
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	r.event(corev1.EventTypeNormal, "Pulled", "Container image %q already present on machine", c.spec.Image)
	r.event(corev1.EventTypeNormal, "Created", "Created container: %s", c.spec.Name)
	if err := cmd.Start(); err != nil {
		r.event(corev1.EventTypeWarning, "Failed", "Error: %v", err)
		r.setTerminated(ctx, c, 128, "StartError", err.Error())
		return 128, err
	}
	r.event(corev1.EventTypeNormal, "Started", "Started container %s", c.spec.Name)
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	r.mu.Lock()
	c.runStarts = append(c.runStarts, logStart)
	c.proc, c.done, c.killed = cmd, done, false
	c.status.LastTerminationState = c.status.State
	if c.status.LastTerminationState.Terminated == nil {
		c.status.LastTerminationState = corev1.ContainerState{}
	}
	c.status.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}
	c.status.Started = ptr.To(true)
	c.status.Ready = c.spec.ReadinessProbe == nil
	r.mu.Unlock()
	r.writeStatus(ctx)
	if c.spec.ReadinessProbe != nil {
		go r.probeReadiness(ctx, c, done)
	}
	select {
	case <-done:
	case <-ctx.Done():
		r.event(corev1.EventTypeNormal, "Killing", "Stopping container %s", c.spec.Name)
		r.terminate(cmd, done)
	}
	code := cmd.ProcessState.ExitCode()
	if code < 0 { // killed by a signal
		code = 128 + int(cmd.ProcessState.Sys().(syscall.WaitStatus).Signal())
	}
	reason := "Completed"
	if code != 0 {
		reason = "Error"
	}
	r.setTerminated(context.WithoutCancel(ctx), c, code, reason, terminationMessage(c.spec, code, logFile.Name(), logStart))
	var ee *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &ee) {
		return code, waitErr
	}
	return code, nil
}

// terminate ends a process group as a kubelet ends a container: SIGTERM, SIGKILL after grace.
func (r *podRunner) terminate(cmd *exec.Cmd, done chan struct{}) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(r.grace):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// kill SIGKILLs the running process of the named container; false when there is none.
// kill SIGKILLs container's process; with held, its restart waits until held is closed.
func (r *podRunner) kill(container string, held chan struct{}) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.containers {
		if c.spec.Name != container || c.proc == nil || c.status.State.Running == nil {
			continue
		}
		c.killed, c.held = true, held
		_ = syscall.Kill(-c.proc.Process.Pid, syscall.SIGKILL)
		return true
	}
	return false
}

func (r *podRunner) alive() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range append(append([]*containerState{}, r.init...), r.containers...) {
		if c.status.State.Running != nil {
			return true
		}
	}
	return false
}

func (r *podRunner) setTerminated(ctx context.Context, c *containerState, code int, reason, message string) {
	r.mu.Lock()
	now := metav1.Now()
	started := now
	if c.status.State.Running != nil {
		started = c.status.State.Running.StartedAt
	}
	c.status.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: int32(code), Reason: reason, Message: message, StartedAt: started, FinishedAt: now,
	}}
	c.status.Ready = false
	c.status.Started = ptr.To(false)
	r.mu.Unlock()
	r.writeStatus(ctx)
}

// probeReadiness runs a tcpSocket or httpGet readiness probe until the process exits.
func (r *podRunner) probeReadiness(ctx context.Context, c *containerState, done chan struct{}) {
	p := c.spec.ReadinessProbe
	period := time.Duration(max(p.PeriodSeconds, 1)) * time.Second
	wait := time.Duration(p.InitialDelaySeconds) * time.Second
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = period
		ready, why := r.probe(c.spec, p)
		if !ready {
			r.event(corev1.EventTypeWarning, "Unhealthy", "Readiness probe failed: %s", why)
		}
		r.mu.Lock()
		changed := c.status.Ready != ready && c.status.State.Running != nil
		if changed {
			c.status.Ready = ready
		}
		r.mu.Unlock()
		if changed {
			r.writeStatus(ctx)
		}
	}
}

// probe runs a probe once; why says what failed.
func (r *podRunner) probe(c corev1.Container, p *corev1.Probe) (ok bool, why string) {
	var port int
	switch {
	case p.TCPSocket != nil:
		port, ok = r.containerPort(c, p.TCPSocket.Port.String())
	case p.HTTPGet != nil:
		port, ok = r.containerPort(c, p.HTTPGet.Port.String())
	default:
		return true, "" // exec probes are not supported: treated as passing (docs/e2e.md)
	}
	if !ok {
		return false, "no such port"
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(r.localIP, strconv.Itoa(port)), time.Second)
	if err != nil {
		return false, err.Error()
	}
	conn.Close()
	return true, ""
}

// finish reports the pod's end: Succeeded when every container exited 0, Failed otherwise.
func (r *podRunner) finish(ctx context.Context) {
	r.writeStatus(context.WithoutCancel(ctx))
}

// writeStatus writes the pod's status as the containers' states make it.
func (r *podRunner) writeStatus(ctx context.Context) {
	pods := r.node.opts.Kube.CoreV1().Pods(r.pod.Namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := pods.Get(ctx, r.pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.UID != r.pod.UID {
			return nil
		}
		r.mu.Lock()
		cur.Status = r.status(cur.Status)
		r.mu.Unlock()
		_, err = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil && ctx.Err() == nil {
		r.logf("writing status: %v", err)
	}
}

// terminationMessage is what the kubelet reports for a container that exited: with
// terminationMessagePolicy FallbackToLogsOnError and a non-zero exit, the tail of this run's log
// (at most 80 lines and 2048 bytes, as the kubelet takes). The termination message file is not
// read: the process's /dev/termination-log is the node's, which does not exist.
func terminationMessage(c corev1.Container, code int, logPath string, from int64) string {
	if code == 0 || c.TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError {
		return ""
	}
	data, err := os.ReadFile(logPath)
	if err != nil || int64(len(data)) < from {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data[from:]), "\n"), "\n")
	if len(lines) > 80 {
		lines = lines[len(lines)-80:]
	}
	msg := strings.Join(lines, "\n")
	if len(msg) > 2048 {
		msg = msg[len(msg)-2048:]
	}
	return msg
}
