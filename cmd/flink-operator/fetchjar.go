package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/flink-operator/flink-operator/pkg/jarfetch"
)

// fetchJarCommand is the name of the subcommand the operator's JAR-fetching init container runs
// (desired.FetchJarCommand builds its command line).
const fetchJarCommand = "fetch-jar"

// terminationLog is where Kubernetes reads a container's termination message from by default,
// so `kubectl describe pod` shows why a fetch failed.
const terminationLog = "/dev/termination-log"

// runFetchJar runs `flink-operator fetch-jar FLAGS` and returns the process's exit code.
func runFetchJar(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet(fetchJarCommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o jarfetch.Options
	deadline := fs.Duration("deadline", 5*time.Minute, "Give up when the JAR is not fetched by then, retries included.")
	fs.StringVar(&o.URL, "url", "", "http:// or https:// URL of the JAR.")
	fs.StringVar(&o.Dest, "dest", "", "File to write.")
	fs.StringVar(&o.Checksum, "checksum", "", "sha256:HEX digest the file must have; empty: not checked.")
	fs.IntVar(&o.Attempts, "attempts", 4, "How many times the download is tried.")
	fs.DurationVar(&o.StallTimeout, "stall-timeout", 30*time.Second, "Fail an attempt that receives no data for this long.")
	fs.DurationVar(&o.Backoff, "backoff", 2*time.Second, "Pause after the first failed attempt; it doubles after each.")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.URL == "" || o.Dest == "" {
		fmt.Fprintln(stderr, "fetch-jar: --url and --dest are required")
		return 2
	}
	o.Log = stderr
	ctx, cancel := context.WithTimeout(context.Background(), *deadline)
	defer cancel()
	if err := jarfetch.Fetch(ctx, o); err != nil {
		fmt.Fprintln(stderr, "fetch-jar:", err)
		writeTerminationMessage(err.Error())
		return 1
	}
	return 0
}

// writeTerminationMessage leaves the reason where the kubelet looks for it; outside a container
// the file does not exist and nothing is written.
func writeTerminationMessage(msg string) {
	f, err := os.OpenFile(terminationLog, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.WriteString(msg)
}
