// This file is not part of any package in the tree (testdata is ignored by the go tool). The
// benchmark builds the operator with `go build -overlay`, which adds it to cmd/flink-operator as if
// it were there: with FLINK_OPERATOR_BENCH_PPROF=host:port set, the operator serves
// net/http/pprof on that address. Unset (always, outside the benchmark), it does nothing. The
// operator's own code is unchanged.

package main

import (
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux
	"os"
	"time"
)

func init() {
	addr := os.Getenv("FLINK_OPERATOR_BENCH_PPROF")
	if addr == "" {
		return
	}
	srv := &http.Server{Addr: addr, Handler: http.DefaultServeMux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.ListenAndServe() }()
}
