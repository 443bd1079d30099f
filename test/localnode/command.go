//go:build flink

package localnode

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flink-operator/flink-operator/test/flinkcluster"
)

// The image's entry points the node knows how to run, and what they run: the same Java classes
// Flink's scripts exec (the scripts are not in the distribution tests get from PyPI).
const (
	jobManagerScript  = "/opt/flink/bin/jobmanager.sh"
	taskManagerScript = "/opt/flink/bin/taskmanager.sh"
	applicationScript = "/opt/flink/bin/standalone-job.sh"
	flinkCLIScript    = "/opt/flink/bin/flink"

	jobManagerMain  = "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint"
	taskManagerMain = "org.apache.flink.runtime.taskexecutor.TaskManagerRunner"
	applicationMain = "org.apache.flink.container.entrypoint.StandaloneApplicationClusterEntryPoint"
	cliMain         = "org.apache.flink.client.cli.CliFrontend"
)

// command builds the process of a container: its environment and command line with volume paths
// mapped to the pod directory, then the Flink entry point as a JVM, or a shell script with
// Service addresses mapped to loopback; it runs as id (see containerIdentity). Every rewrite is appended to the pod's rewrites.log.
func (r *podRunner) command(ctx context.Context, c corev1.Container, id *identity) (*exec.Cmd, error) {
	if b, ok := r.node.opts.Binaries[c.Image]; ok {
		return r.binary(ctx, c, id, b)
	}
	dist, err := r.node.opts.Dist(c.Image)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", c.Image, err)
	}
	if err := id.checkReadable(dist.Home); err != nil {
		return nil, err
	}
	env, err := r.env(ctx, c)
	if err != nil {
		return nil, err
	}
	argv := expandVars(append(append([]string{}, c.Command...), c.Args...), env)
	if len(argv) == 0 {
		return nil, fmt.Errorf("no command: the image's default entrypoint is not run locally")
	}
	for i := range argv {
		argv[i] = r.localPath(c, argv[i])
	}
	var rw rewrites
	if err := r.apiAccess(c, env, &rw); err != nil {
		return nil, err
	}
	for _, e := range c.Env {
		if f := e.ValueFrom; f != nil && f.FieldRef != nil && f.FieldRef.FieldPath == "status.podIP" {
			rw.add(fmt.Sprintf("env %s: status.podIP is %s, where the pod listens (the API shows %s)", e.Name, r.localIP, r.podIP))
		}
	}
	var cmd *exec.Cmd
	switch argv[0] {
	case jobManagerScript, taskManagerScript, applicationScript:
		cmd, err = r.flinkDaemon(c, dist, env, argv, &rw)
	case flinkCLIScript:
		cmd, err = r.flinkCLI(ctx, c, dist, env, argv[1:], &rw)
	case "/bin/bash", "/bin/sh", "bash", "sh":
		cmd, err = r.shell(ctx, argv, &rw)
	default:
		err = fmt.Errorf("command %q: the local node runs Flink's jobmanager.sh, taskmanager.sh, standalone-job.sh and flink, and shell scripts", argv[0])
	}
	if err != nil {
		return nil, err
	}
	if cmd.Env == nil {
		cmd.Env = environ(dist, env)
	}
	users, err := r.imageUserEnv(id, env["LD_PRELOAD"], &rw)
	if err != nil {
		return nil, err
	}
	cmd.Env = append(cmd.Env, users...)
	cmd.Dir = r.dir
	return cmd, rw.write(filepath.Join(r.dir, "rewrites.log"), c.Name)
}

// binary runs the program of a Binary image: the container's command line, volume paths mapped,
// with the program's local file in place of its path in the image, and the container's
// environment over the node's (less what inherited refuses).
func (r *podRunner) binary(ctx context.Context, c corev1.Container, id *identity, b Binary) (*exec.Cmd, error) {
	if err := id.checkReadable(b.Path); err != nil {
		return nil, err
	}
	env, err := r.env(ctx, c)
	if err != nil {
		return nil, err
	}
	argv := expandVars(append(append([]string{}, c.Command...), c.Args...), env)
	if len(argv) == 0 || argv[0] != b.Entrypoint {
		return nil, fmt.Errorf("image %s: the local node runs only its program %s (command %q)", c.Image, b.Entrypoint, argv)
	}
	for i := range argv {
		argv[i] = r.localPath(c, argv[i])
	}
	var rw rewrites
	rw.add(fmt.Sprintf("command %s is the local file %s", b.Entrypoint, b.Path))
	cmd := exec.Command(b.Path, argv[1:]...)
	for _, kv := range os.Environ() {
		if inherited(kv) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Dir = r.dir
	return cmd, rw.write(filepath.Join(r.dir, "rewrites.log"), c.Name)
}

// env is the container's environment as the kubelet builds it, volume paths mapped.
func (r *podRunner) env(ctx context.Context, c corev1.Container) (map[string]string, error) {
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		data, err := r.envSource(ctx, from)
		if err != nil {
			return nil, err
		}
		for k, v := range data {
			env[from.Prefix+k] = v
		}
	}
	for _, e := range c.Env {
		v, err := r.envValue(ctx, e)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		env[e.Name] = r.localPath(c, expandVars([]string{v}, env)[0])
	}
	return env, nil
}

func (r *podRunner) envSource(ctx context.Context, from corev1.EnvFromSource) (map[string]string, error) {
	switch {
	case from.ConfigMapRef != nil:
		cm, err := r.node.opts.Kube.CoreV1().ConfigMaps(r.pod.Namespace).Get(ctx, from.ConfigMapRef.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return cm.Data, nil
	case from.SecretRef != nil:
		s, err := r.node.opts.Kube.CoreV1().Secrets(r.pod.Namespace).Get(ctx, from.SecretRef.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		out := map[string]string{}
		for k, v := range s.Data {
			out[k] = string(v)
		}
		return out, nil
	}
	return nil, nil
}

func (r *podRunner) envValue(ctx context.Context, e corev1.EnvVar) (string, error) {
	f := e.ValueFrom
	switch {
	case f == nil:
		return e.Value, nil
	case f.FieldRef != nil:
		return r.fieldValue(f.FieldRef.FieldPath)
	case f.ConfigMapKeyRef != nil:
		cm, err := r.node.opts.Kube.CoreV1().ConfigMaps(r.pod.Namespace).Get(ctx, f.ConfigMapKeyRef.Name, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		return cm.Data[f.ConfigMapKeyRef.Key], nil
	case f.SecretKeyRef != nil:
		s, err := r.node.opts.Kube.CoreV1().Secrets(r.pod.Namespace).Get(ctx, f.SecretKeyRef.Name, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		return string(s.Data[f.SecretKeyRef.Key]), nil
	}
	return "", fmt.Errorf("valueFrom is not supported locally")
}

// fieldValue is a pod field for an environment variable or a downward API file; the pod IP is
// where the pod listens here (see localIPFor).
func (r *podRunner) fieldValue(path string) (string, error) {
	switch path {
	case "metadata.name":
		return r.pod.Name, nil
	case "metadata.namespace":
		return r.pod.Namespace, nil
	case "metadata.uid":
		return string(r.pod.UID), nil
	case "spec.nodeName":
		return r.node.opts.Name, nil
	case "spec.serviceAccountName":
		return r.pod.Spec.ServiceAccountName, nil
	case "status.podIP":
		return r.localIP, nil
	case "status.hostIP":
		return loopback, nil
	}
	return "", fmt.Errorf("fieldRef %s is not supported locally", path)
}

var varRefRE = regexp.MustCompile(`\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)`)

// expandVars expands $(VAR) references as the kubelet does: defined variables only, "$$" escapes.
func expandVars(args []string, env map[string]string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = varRefRE.ReplaceAllStringFunc(a, func(m string) string {
			if m == "$$" {
				return "$"
			}
			if v, ok := env[m[2:len(m)-1]]; ok {
				return v
			}
			return m
		})
	}
	return out
}

// localPath maps a path under one of the container's volume mounts into the pod directory; it
// also maps the value of a "key=/path" argument.
func (r *podRunner) localPath(c corev1.Container, s string) string {
	prefix, path := "", s
	if i := strings.IndexByte(s, '='); i >= 0 && !strings.HasPrefix(s, "/") {
		prefix, path = s[:i+1], s[i+1:]
	}
	best := ""
	for _, m := range c.VolumeMounts {
		mp := strings.TrimSuffix(m.MountPath, "/")
		if (path == mp || strings.HasPrefix(path, mp+"/")) && len(mp) > len(best) {
			best = mp
		}
	}
	if best == "" {
		return s
	}
	return prefix + r.mounts[c.Name+"\x00"+mountPathOf(c, best)] + strings.TrimPrefix(path, best)
}

func mountPathOf(c corev1.Container, trimmed string) string {
	for _, m := range c.VolumeMounts {
		if strings.TrimSuffix(m.MountPath, "/") == trimmed {
			return m.MountPath
		}
	}
	return trimmed
}

// flinkDaemon runs jobmanager.sh/taskmanager.sh/standalone-job.sh start-foreground: the entry
// point class with the JVM options from the configuration in FLINK_CONF_DIR and the memory flags
// and dynamic properties Flink's BashJavaUtils computes from it, as Flink's scripts do.
// standalone-job.sh (an application's JobManager) passes its own arguments on to the entry point,
// after the computed properties, as Flink's script does (they precede the job's arguments).
func (r *podRunner) flinkDaemon(c corev1.Container, dist flinkcluster.Dist, env map[string]string, argv []string, rw *rewrites) (*exec.Cmd, error) {
	role, main, resources := "jobmanager", jobManagerMain, "GET_JM_RESOURCE_PARAMS"
	switch argv[0] {
	case taskManagerScript:
		role, main, resources = "taskmanager", taskManagerMain, "GET_TM_RESOURCE_PARAMS"
	case applicationScript:
		main = applicationMain
	}
	// jobmanager.sh start-foreground HOST sets jobmanager.rpc.address to HOST (Flink's HA setups
	// give it the pod's IP): 1.x's script passes --host HOST, 2.x's -D jobmanager.rpc.address=HOST.
	var host, application []string
	switch {
	case argv[0] == applicationScript && len(argv) >= 2 && argv[1] == "start-foreground":
		application = argv[2:]
	case argv[0] == applicationScript:
		return nil, fmt.Errorf("%v: only `start-foreground` is supported locally", argv)
	case len(argv) == 2 && argv[1] == "start-foreground":
	case len(argv) == 3 && argv[1] == "start-foreground" && role == "jobmanager":
		host = []string{"-D", "jobmanager.rpc.address=" + argv[2]}
		if dist.Major < 2 {
			host = []string{"--host", argv[2]}
		}
	default:
		return nil, fmt.Errorf("%v: only `start-foreground` (and a JobManager's host after it) is supported locally", argv)
	}
	confDir, conf, err := r.localConf(context.Background(), c, env, rw)
	if err != nil {
		return nil, err
	}
	jvm, dynamic, err := dist.ResourceParams(confDir, resources)
	if err != nil {
		return nil, err
	}
	cp, err := dist.Classpath()
	if err != nil {
		return nil, err
	}
	args := append(javaOpts(conf, role), jvm...)
	args = append(args, logSettings(filepath.Join(r.dir, c.Name+"-flink.log"), filepath.Join(confDir, "log4j-console.properties"))...)
	args = append(args, "-classpath", cp, main)
	if application != nil {
		args = append(append(append(args, dynamic...), "--configDir", confDir), application...)
	} else {
		args = append(args, "--configDir", confDir)
		args = append(args, host...)
		args = append(args, dynamic...)
	}
	if _, set := conf["taskmanager.host"]; role == "taskmanager" && !set {
		// A TaskManager without taskmanager.host advertises the address it reaches the
		// JobManager from: the pod IP in a pod, 127.0.0.1 here, where it does not listen.
		args = append(args, "-D", "taskmanager.host="+r.localIP)
		rw.add("added -D taskmanager.host=" + r.localIP + " (the pod's loopback address)")
	}
	cmd := exec.Command("java", args...)
	cmd.Env = environ(dist, withConfDir(env, confDir))
	return cmd, nil
}

// flinkCLI runs bin/flink: CliFrontend with the client's JVM options and log4j-cli.properties.
func (r *podRunner) flinkCLI(ctx context.Context, c corev1.Container, dist flinkcluster.Dist, env map[string]string, cliArgs []string, rw *rewrites) (*exec.Cmd, error) {
	confDir, conf, err := r.localConf(ctx, c, env, rw)
	if err != nil {
		return nil, err
	}
	cp, err := dist.Classpath()
	if err != nil {
		return nil, err
	}
	args := javaOpts(conf, "client")
	args = append(args, logSettings(filepath.Join(r.dir, c.Name+"-flink.log"), filepath.Join(confDir, "log4j-cli.properties"))...)
	args = append(args, "-classpath", cp, cliMain)
	args = append(args, cliArgs...)
	cmd := exec.Command("java", args...)
	cmd.Env = environ(dist, withConfDir(env, confDir))
	return cmd, nil
}

// shell runs `sh -c SCRIPT` (or bash) with Service addresses in the script mapped to loopback.
func (r *podRunner) shell(ctx context.Context, argv []string, rw *rewrites) (*exec.Cmd, error) {
	if len(argv) < 3 || argv[1] != "-c" {
		return nil, fmt.Errorf("%v: only `sh -c SCRIPT` is supported locally", argv)
	}
	script, changes := r.rewriteScript(ctx, argv[2])
	rw.add(changes...)
	args := append([]string{"-c", script}, argv[3:]...)
	return exec.Command("bash", args...), nil
}

// logSettings are the -D flags Flink's scripts give every JVM for log4j.
func logSettings(logFile, log4j string) []string {
	return []string{"-Dlog.file=" + logFile, "-Dlog4j.configuration=file:" + log4j, "-Dlog4j.configurationFile=file:" + log4j}
}

// javaOpts reads the JVM options from the configuration as Flink's config.sh does:
// env.java.default-opts.all and env.java.opts.all (or the deprecated env.java.opts), then the
// role's default-opts and opts. Nothing is taken from the distribution's bundled configuration:
// in a pod whose FLINK_CONF_DIR is the operator's ConfigMap, the image's conf/ is not read either.
func javaOpts(conf map[string]string, role string) []string {
	all := conf["env.java.opts.all"]
	if all == "" {
		all = conf["env.java.opts"]
	}
	opts := []string{"-XX:+IgnoreUnrecognizedVMOptions"}
	for _, v := range []string{conf["env.java.default-opts.all"], all, conf["env.java.default-opts."+role], conf["env.java.opts."+role]} {
		opts = append(opts, strings.Fields(strings.Trim(v, `"`))...)
	}
	return opts
}

func withConfDir(env map[string]string, confDir string) map[string]string {
	out := make(map[string]string, len(env)+1)
	for k, v := range env {
		out[k] = v
	}
	out["FLINK_CONF_DIR"] = confDir
	return out
}

// serviceAccountDir is where the kubelet mounts the service account volume.
const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// apiAccess gives the container what a kubelet gives it to reach the API server, and nothing of
// the test's own: the API server's address in KUBERNETES_SERVICE_HOST/PORT; the service account
// volume's token and CA (mounted elsewhere here) through the variables the fabric8 client in
// Flink reads instead of the fixed paths; HOME in the pod directory; and no kubeconfig
// (KUBECONFIG and HOME are not inherited, and fabric8's kubeconfig lookup is off), so a Flink
// process has exactly its ServiceAccount's permissions.
func (r *podRunner) apiAccess(c corev1.Container, env map[string]string, rw *rewrites) error {
	home := filepath.Join(r.dir, "home")
	if err := mkdirAll(home); err != nil {
		return err
	}
	if err := os.Chmod(home, 0o777); err != nil {
		return err
	}
	set := func(k, v string) {
		if _, ok := env[k]; !ok {
			env[k] = v
			rw.add("env " + k + "=" + v)
		}
	}
	set("HOME", home)
	set("KUBERNETES_AUTH_TRYKUBECONFIG", "false")
	if u, err := url.Parse(r.node.opts.APIServer); err == nil && u.Host != "" {
		set("KUBERNETES_SERVICE_HOST", u.Hostname())
		set("KUBERNETES_SERVICE_PORT", u.Port())
	}
	if dir := r.localPath(c, serviceAccountDir); dir != serviceAccountDir {
		set("KUBERNETES_AUTH_SERVICEACCOUNT_TOKEN", filepath.Join(dir, "token"))
		set("KUBERNETES_CERTS_CA_FILE", filepath.Join(dir, "ca.crt"))
	}
	return nil
}

// inherited reports whether a variable of the test process may reach a container: nothing that
// would give it the test's access to the API server.
func inherited(kv string) bool {
	k, _, _ := strings.Cut(kv, "=")
	return k != "KUBECONFIG" && k != "HOME" && !strings.HasPrefix(k, "KUBERNETES_")
}

// environ is this process's environment (PATH, JAVA_HOME) less what inherited refuses, the
// variables Flink's scripts export for the distribution, then the container's.
func environ(dist flinkcluster.Dist, env map[string]string) []string {
	var out []string
	for _, kv := range dist.Env(env["FLINK_CONF_DIR"]) {
		if inherited(kv) {
			out = append(out, kv)
		}
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

// rewrites collects what a container's launch changed, for rewrites.log.
type rewrites struct{ lines []string }

func (rw *rewrites) add(lines ...string) { rw.lines = append(rw.lines, lines...) }

func (rw *rewrites) write(path, container string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, l := range rw.lines {
		if _, err := fmt.Fprintf(f, "%s: %s\n", container, l); err != nil {
			return err
		}
	}
	return nil
}
