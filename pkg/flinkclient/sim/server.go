package sim

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Server is an http.Handler that simulates any number of Flink JobManagers.
// Cluster NS/NAME is served under the path prefix /clusters/NS/NAME, so its
// JobManager base URL is JobManagerURL(serverURL, NS, NAME); the control API
// is under /sim/ (see docs/simulator.md). Create it with New.
type Server struct {
	opts               Options
	clock              Clock
	opStoreDuration    time.Duration
	jobStoreExpiration time.Duration

	mu       sync.RWMutex
	clusters map[string]*Cluster

	spMu       sync.Mutex
	savepoints map[string]struct{}

	rngMu sync.Mutex
	rng   *rand.Rand
}

var _ http.Handler = (*Server)(nil)

// New returns a Server.
func New(opts Options) *Server {
	s := &Server{opts: opts, clock: opts.Clock, clusters: map[string]*Cluster{}, savepoints: map[string]struct{}{}}
	if s.clock == nil {
		s.clock = RealClock{}
	}
	s.opStoreDuration = defaultDuration(opts.OperationStoreDuration, DefaultOperationStoreDuration)
	s.jobStoreExpiration = defaultDuration(opts.JobStoreExpiration, DefaultJobStoreExpiration)
	seed := opts.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	s.rng = rand.New(rand.NewChaCha8(key))
	return s
}

func defaultDuration(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0 // never expire
	}
	return d
}

// Clock returns the server's clock.
func (s *Server) Clock() Clock { return s.clock }

// JobManagerURL is the JobManager base URL of cluster namespace/name on a
// Server reachable at serverURL (e.g. an httptest.Server's URL).
func JobManagerURL(serverURL, namespace, name string) string {
	return strings.TrimSuffix(serverURL, "/") + "/clusters/" + url.PathEscape(namespace) + "/" + url.PathEscape(name)
}

// Cluster returns cluster namespace/name, creating it with the server's
// default configuration if needed.
func (s *Server) Cluster(namespace, name string) *Cluster {
	c, _ := s.cluster(namespace, name, true)
	return c
}

// CreateCluster creates cluster namespace/name with cfg (zero fields take
// built-in defaults, not Options.Defaults), or reconfigures it if it
// exists, and returns it.
func (s *Server) CreateCluster(namespace, name string, cfg ClusterConfig) *Cluster {
	c, _ := s.cluster(namespace, name, true)
	c.SetConfig(cfg)
	return c
}

// LookupCluster returns an existing cluster.
func (s *Server) LookupCluster(namespace, name string) (*Cluster, bool) {
	return s.cluster(namespace, name, false)
}

// RemoveCluster deletes a cluster and everything in it; it reports whether
// the cluster existed. Unless RequireExplicitClusters is set, the next
// request for it creates a fresh cluster (a new, empty JobManager).
func (s *Server) RemoveCluster(namespace, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := namespace + "/" + name
	_, ok := s.clusters[k]
	delete(s.clusters, k)
	return ok
}

// Clusters returns the keys ("namespace/name") of all clusters, sorted.
func (s *Server) Clusters() []string {
	s.mu.RLock()
	out := make([]string, 0, len(s.clusters))
	for k := range s.clusters {
		out = append(out, k)
	}
	s.mu.RUnlock()
	sort.Strings(out)
	return out
}

// NumClusters is len(Clusters()) without the allocation.
func (s *Server) NumClusters() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.clusters)
}

// Submit runs a job submitter command line (see ParseRunCommand) against
// cluster "namespace/name", creating the cluster if needed. It returns an
// error wrapping ErrBadCommand for a command line it cannot parse and
// ErrDuplicateJob when the job ID is already taken in that cluster.
func (s *Server) Submit(cluster string, args []string) error {
	_, err := s.SubmitJob(cluster, args)
	return err
}

// SubmitConfigured is Submit for a cluster whose Flink configuration is conf (see
// Cluster.SubmitConfigured).
func (s *Server) SubmitConfigured(cluster string, conf map[string]string, args []string) error {
	c, err := s.submitCluster(cluster)
	if err != nil {
		return err
	}
	_, err = c.SubmitConfigured(conf, args)
	return err
}

// JobManagerGone simulates the end of an application cluster's JobManager
// process (its Job was deleted): the cluster's JobManager restarts, and
// without high availability forgets its jobs (see RestartJobManager).
func (s *Server) JobManagerGone(cluster string) {
	if c, err := s.submitCluster(cluster); err == nil {
		c.RestartJobManager()
	}
}

// SubmitJob is Submit that also returns the started job's ID.
func (s *Server) SubmitJob(cluster string, args []string) (string, error) {
	c, err := s.submitCluster(cluster)
	if err != nil {
		return "", err
	}
	return c.Submit(args)
}

func (s *Server) submitCluster(cluster string) (*Cluster, error) {
	ns, name, ok := strings.Cut(cluster, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("%w: cluster %q is not namespace/name", ErrNoCluster, cluster)
	}
	c, ok := s.cluster(ns, name, !s.opts.RequireExplicitClusters)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoCluster, cluster)
	}
	return c, nil
}

// AddSavepoint registers a savepoint path as existing (see
// Options.CheckRestorePaths and savepoint disposal). Savepoints written by
// the simulator are registered automatically. Savepoints belong to the
// server, not to a cluster: they survive RestartJobManager and
// RemoveCluster, like files on shared storage.
func (s *Server) AddSavepoint(path string) {
	path = normalizePath(path)
	s.spMu.Lock()
	s.savepoints[path] = struct{}{}
	s.spMu.Unlock()
}

// HasSavepoint reports whether path is a registered savepoint that has not
// been disposed of. Local paths match in any spelling ("/d/x",
// "file:/d/x", "file:///d/x").
func (s *Server) HasSavepoint(path string) bool {
	path = normalizePath(path)
	s.spMu.Lock()
	defer s.spMu.Unlock()
	_, ok := s.savepoints[path]
	return ok
}

// Savepoints lists the registered savepoints, sorted.
func (s *Server) Savepoints() []string {
	s.spMu.Lock()
	out := make([]string, 0, len(s.savepoints))
	for p := range s.savepoints {
		out = append(out, p)
	}
	s.spMu.Unlock()
	sort.Strings(out)
	return out
}

// removeSavepoints removes every registered path under prefix.
func (s *Server) removeSavepoints(prefix string) {
	prefix = normalizePath(prefix)
	s.spMu.Lock()
	defer s.spMu.Unlock()
	for p := range s.savepoints {
		if strings.HasPrefix(p, prefix) {
			delete(s.savepoints, p)
		}
	}
}

func (s *Server) removeSavepoint(path string) bool {
	path = normalizePath(path)
	s.spMu.Lock()
	defer s.spMu.Unlock()
	_, ok := s.savepoints[path]
	delete(s.savepoints, path)
	return ok
}

func (s *Server) cluster(namespace, name string, create bool) (*Cluster, bool) {
	k := namespace + "/" + name
	s.mu.RLock()
	c, ok := s.clusters[k]
	s.mu.RUnlock()
	if ok || !create {
		return c, ok
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clusters[k]; ok {
		return c, true
	}
	c = &Cluster{srv: s, namespace: namespace, name: name, cfg: s.opts.Defaults.withDefaults()}
	s.clusters[k] = c
	return c, true
}

func (s *Server) randomHex(n int) string {
	var b [32]byte
	s.rngMu.Lock()
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], s.rng.Uint64())
	}
	s.rngMu.Unlock()
	return hex.EncodeToString(b[:])[:n]
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/clusters/"):
		s.serveCluster(w, r, p[len("/clusters/"):])
	case p == "/sim" || strings.HasPrefix(p, "/sim/"):
		s.serveControl(w, r, strings.TrimPrefix(p, "/sim"))
	default:
		writeFlinkError(w, http.StatusNotFound, "Not found: "+p)
	}
}

// serveCluster serves the Flink REST API of one cluster; rest is the path
// after "/clusters/".
func (s *Server) serveCluster(w http.ResponseWriter, r *http.Request, rest string) {
	ns, rest, _ := strings.Cut(rest, "/")
	name, rest, _ := strings.Cut(rest, "/")
	if ns == "" || name == "" {
		writeFlinkError(w, http.StatusNotFound, "Not found: "+r.URL.Path)
		return
	}
	c, ok := s.cluster(ns, name, !s.opts.RequireExplicitClusters)
	if !ok {
		hangUp(w)
		return
	}
	rt := route(r.Method, "/"+rest)
	c.requests[rt.ep].Add(1)
	// Read the (small) body first: net/http notices a client that went away
	// (and cancels r.Context()) only once the body has been consumed.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil {
		return
	}

	f := c.Faults()
	if f.Slow > 0 {
		t := time.NewTimer(f.Slow)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	switch {
	case f.Unreachable:
		hangUp(w)
		return
	case f.InternalError:
		writeFlinkError(w, http.StatusInternalServerError, "Internal server error.",
			"<Exception on server side:\njava.lang.RuntimeException: Simulated internal server error.\n"+
				"\tat org.apache.flink.sim.SimulatedJobManager(SimulatedJobManager.java:1)\n\nEnd of exception on server side>")
		return
	}
	c.serveREST(w, r, rt, body)
}

// hangUp closes the connection without an HTTP response, so that the
// client's request fails at the transport level (EOF or connection reset),
// which pkg/flinkclient reports as ErrUnreachable.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if tcp, ok := conn.(interface{ SetLinger(int) error }); ok {
				_ = tcp.SetLinger(0) // RST rather than FIN
			}
			_ = conn.Close()
			return
		}
	}
	// HTTP/2 or a wrapped writer: abort the handler, net/http resets the
	// stream or closes the connection.
	panic(http.ErrAbortHandler)
}
