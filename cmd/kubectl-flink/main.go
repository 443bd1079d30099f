// Command kubectl-flink is a kubectl plugin for FlinkClusters: `kubectl flink status NAME`,
// `savepoint`, `cancel`, `suspend`, `resume`, `restore` and `ui`. It only patches the
// FlinkCluster's spec and reads its status, never calls Flink itself, so what a user may do is
// what their RBAC on flinkclusters allows.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/flink-operator/flink-operator/pkg/generated/clientset/versioned"
)

const usage = `kubectl flink: operate FlinkClusters through their spec and status.

Usage:
  kubectl flink [-n NAMESPACE] [--kubeconfig FILE] [--context NAME] COMMAND NAME [ARGS]

Commands:
  status NAME            the cluster and job state, last savepoint and checkpoint, restarts,
                         rollback and conditions, in one screen
  savepoint NAME         take a savepoint now (spec.job.savepointGeneration + 1), wait for it and
                         print its location (--timeout, default 10m)
  cancel NAME            cancel the job for good (spec.job.cancelRequested; with savepointsDir
                         the operator takes a savepoint first)
  suspend NAME           stop the job, keeping its state, and free its TaskManagers
                         (spec.job.state: Suspended)
  resume NAME            resume a suspended job (spec.job.state: Running)
  restore NAME PATH      restart the job from the savepoint at PATH (spec.job.fromSavepoint and
                         spec.job.restoreGeneration + 1)
  ui NAME                print the URL of the cluster's Flink dashboard
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		if errors.Is(err, errUsage) {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// run parses the command line, connects, and runs the command.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("kubectl flink", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	overrides := &clientcmd.ConfigOverrides{}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	fs.StringVar(&overrides.Context.Namespace, "n", "", "namespace")
	fs.StringVar(&overrides.Context.Namespace, "namespace", "", "namespace")
	fs.StringVar(&rules.ExplicitPath, "kubeconfig", "", "kubeconfig file")
	fs.StringVar(&overrides.CurrentContext, "context", "", "kubeconfig context")
	timeout := fs.Duration("timeout", 10*time.Minute, "how long savepoint waits")
	if err := fs.Parse(interleaved(args)); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() == 1 && (fs.Arg(0) == "help" || fs.Arg(0) == "-h") {
		_, err := fmt.Fprint(out, usage)
		return err
	}
	if fs.NArg() < 2 {
		return fmt.Errorf("%w: a command and a FlinkCluster name are needed", errUsage)
	}
	config := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	ns, _, err := config.Namespace()
	if err != nil {
		return err
	}
	rc, err := config.ClientConfig()
	if err != nil {
		return fmt.Errorf("loading kubeconfig: %w", err)
	}
	rc.UserAgent = "kubectl-flink"
	client, err := versioned.NewForConfig(rc)
	if err != nil {
		return err
	}
	p := &plugin{client: client, namespace: ns, out: out, server: rc.Host, poll: time.Second, timeout: *timeout, now: time.Now}
	return p.run(ctx, fs.Arg(0), fs.Args()[1:])
}

// interleaved moves flags after positional arguments to the front, so that
// `kubectl flink status NAME -n NS` works as kubectl's own commands do.
func interleaved(args []string) []string {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case len(a) > 1 && a[0] == '-':
			flags = append(flags, a)
			if !hasValue(a) && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		default:
			positional = append(positional, a)
		}
	}
	return append(flags, positional...)
}

// hasValue: the flag carries its value (-n=ns, --timeout=1m) or takes none (-h).
func hasValue(flag string) bool {
	return strings.Contains(flag, "=") || flag == "-h" || flag == "--help"
}
