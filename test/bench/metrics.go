package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
)

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)`)

func parseSamples(r io.Reader, keep func(name string) bool) []sample {
	var out []sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil || !keep(m[1]) {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			continue
		}
		out = append(out, sample{name: m[1], labels: parseLabels(m[2]), value: v})
	}
	return out
}

func parseLabels(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			out[strings.TrimSpace(k)] = strings.Trim(v, `"`)
		}
	}
	return out
}

// writeCounts are the API server's request counters for writes, by "VERB resource/subresource".
type writeCounts map[string]int

// apiWrites reads apiserver_request_total and keeps the writes to the kinds the operator writes,
// exactly as test/integration/idle_test.go does: FlinkClusters (and their status), ConfigMaps,
// Services, Ingresses, Deployments and Jobs (not their status subresource, which belongs to their
// controllers). Events are kept apart under "events" (their writers cannot be told apart).
func apiWrites(ctx context.Context, kube kubernetes.Interface) (writeCounts, error) {
	body, err := kube.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	counts := writeCounts{}
	for _, s := range parseSamples(strings.NewReader(string(body)), func(n string) bool { return n == "apiserver_request_total" }) {
		switch s.labels["verb"] {
		case "POST", "PUT", "PATCH", "DELETE", "APPLY":
		default:
			continue
		}
		key := s.labels["verb"] + " " + s.labels["resource"] + "/" + s.labels["subresource"]
		switch s.labels["resource"] {
		case "flinkclusters", "configmaps", "services", "ingresses", "networkpolicies":
		case "deployments", "jobs":
			if s.labels["subresource"] != "" {
				continue
			}
		case "events":
			key = "events"
		default:
			continue
		}
		counts[key] += int(s.value)
	}
	return counts, nil
}

// diff returns after - before without the zero entries, and the total without events.
func (after writeCounts) diff(before writeCounts) (writeCounts, int, int) {
	out := writeCounts{}
	total, events := 0, 0
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
			if k == "events" {
				events += d
			} else {
				total += d
			}
		}
	}
	return out, total, events
}

func (w writeCounts) String() string {
	if len(w) == 0 {
		return "none"
	}
	b, _ := json.Marshal(map[string]int(w))
	return string(b)
}

// simRequests is the number of Flink REST calls the simulator has served, per cluster "ns/name".
func simRequests(ctx context.Context, simURL string) (map[string]int64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, simURL+"/sim/clusters", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var list []struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
		Requests  int64  `json:"requests"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, c := range list {
		out[c.Namespace+"/"+c.Name] = c.Requests
	}
	return out, nil
}

// opMetrics are the operator's own numbers, scraped from its /metrics.
type opMetrics struct {
	at         time.Time
	rss        float64 // process_resident_memory_bytes
	cpu        float64 // process_cpu_seconds_total
	heapInuse  float64 // go_memstats_heap_inuse_bytes
	goroutines float64
	depth      float64 // workqueue_depth{name="flinkcluster"}
	adds       float64
	longest    float64 // workqueue_longest_running_processor_seconds
	syncs      float64 // flinkoperator_sync_duration_seconds_count, all outcomes
	syncErrors float64
	writes     float64 // flinkoperator_api_writes_total, all kinds
	restCalls  float64 // flinkoperator_flink_rest_requests_total
}

var opMetricNames = map[string]bool{
	"process_resident_memory_bytes": true, "process_cpu_seconds_total": true, "go_memstats_heap_inuse_bytes": true,
	"go_goroutines": true, "workqueue_depth": true, "workqueue_adds_total": true,
	"workqueue_longest_running_processor_seconds": true, "flinkoperator_sync_duration_seconds_count": true,
	"flinkoperator_api_writes_total": true, "flinkoperator_flink_rest_requests_total": true,
}

func scrapeOperator(ctx context.Context, url string) (opMetrics, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return opMetrics{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return opMetrics{}, fmt.Errorf("%s: %s", url, resp.Status)
	}
	m := opMetrics{at: time.Now()}
	for _, s := range parseSamples(resp.Body, func(n string) bool { return opMetricNames[n] }) {
		switch s.name {
		case "process_resident_memory_bytes":
			m.rss = s.value
		case "process_cpu_seconds_total":
			m.cpu = s.value
		case "go_memstats_heap_inuse_bytes":
			m.heapInuse = s.value
		case "go_goroutines":
			m.goroutines = s.value
		case "workqueue_depth":
			m.depth += s.value
		case "workqueue_adds_total":
			m.adds += s.value
		case "workqueue_longest_running_processor_seconds":
			m.longest += s.value
		case "flinkoperator_sync_duration_seconds_count":
			m.syncs += s.value
			if s.labels["outcome"] == "error" {
				m.syncErrors += s.value
			}
		case "flinkoperator_api_writes_total":
			m.writes += s.value
		case "flinkoperator_flink_rest_requests_total":
			m.restCalls += s.value
		}
	}
	return m, nil
}

// sampler scrapes the operator every second, across operator restarts (each process has its own
// counters; the sampler keeps them per process generation).
type sampler struct {
	mu       sync.Mutex
	url      string
	interval time.Duration
	samples  []opMetrics
	stop     chan struct{}
	done     chan struct{}
}

func startSampler(url string) *sampler {
	s := &sampler{url: url, interval: time.Second, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		last := time.Time{}
		for {
			s.mu.Lock()
			url, interval := s.url, s.interval
			s.mu.Unlock()
			if time.Since(last) >= interval {
				last = time.Now()
				if m, err := scrapeOperator(context.Background(), url); err == nil {
					s.mu.Lock()
					s.samples = append(s.samples, m)
					s.mu.Unlock()
				}
			}
			select {
			case <-s.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return s
}

// setInterval changes how often the sampler scrapes: every second while things move (to catch
// the peak), every 15 s while idle, like a Prometheus server (a scrape of 20,000 series costs the
// operator CPU time that would otherwise count as idle cost).
func (s *sampler) setInterval(d time.Duration) {
	s.mu.Lock()
	s.interval = d
	s.mu.Unlock()
}

func (s *sampler) Stop() {
	close(s.stop)
	<-s.done
}

// between returns the samples taken in [from, to].
func (s *sampler) between(from, to time.Time) []opMetrics {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []opMetrics
	for _, m := range s.samples {
		if !m.at.Before(from) && !m.at.After(to) {
			out = append(out, m)
		}
	}
	return out
}

// peak is the highest RSS and heap in use in [from, to].
func (s *sampler) peak(from, to time.Time) (rss, heap float64) {
	for _, m := range s.between(from, to) {
		rss = max(rss, m.rss)
		heap = max(heap, m.heapInuse)
	}
	return rss, heap
}

// peakCPURate is the highest CPU use (cores) over any 5 s in [from, to].
func (s *sampler) peakCPURate(from, to time.Time) float64 {
	ms := s.between(from, to)
	best := 0.0
	j := 0
	for i := range ms {
		for j < i && ms[i].at.Sub(ms[j].at) > 5*time.Second {
			j++
		}
		if dt := ms[i].at.Sub(ms[j].at).Seconds(); dt >= 2 && ms[i].cpu >= ms[j].cpu {
			best = max(best, (ms[i].cpu-ms[j].cpu)/dt)
		}
	}
	return best
}

// apiLatency is the API server's request-duration histogram, summed over every client, for
// writes (POST and PUT) only: its mean between two scrapes says how long one write took.
type apiLatency struct{ sum, count float64 }

func scrapeAPILatency(ctx context.Context, kube kubernetes.Interface) (apiLatency, error) {
	body, err := kube.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return apiLatency{}, err
	}
	var l apiLatency
	keep := func(n string) bool {
		return n == "apiserver_request_duration_seconds_sum" || n == "apiserver_request_duration_seconds_count"
	}
	for _, s := range parseSamples(strings.NewReader(string(body)), keep) {
		if v := s.labels["verb"]; v != "POST" && v != "PUT" {
			continue
		}
		if strings.HasSuffix(s.name, "_sum") {
			l.sum += s.value
		} else {
			l.count += s.value
		}
	}
	return l, nil
}

// meanSince is the mean write duration between before and l.
func (l apiLatency) meanSince(before apiLatency) time.Duration {
	if l.count <= before.count {
		return 0
	}
	return time.Duration((l.sum - before.sum) / (l.count - before.count) * float64(time.Second))
}

// cpuTimes is /proc/stat's first line: jiffies the whole machine spent busy and in total.
type cpuTimes struct{ busy, total uint64 }

func machineCPU() cpuTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var t cpuTimes
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseUint(f, 10, 64)
		t.total += v
		if i != 3 && i != 4 { // idle, iowait
			t.busy += v
		}
	}
	return t
}

// busySince is the share of the machine's CPU time that was busy between before and t.
func (t cpuTimes) busySince(before cpuTimes) float64 {
	if t.total <= before.total {
		return 0
	}
	return float64(t.busy-before.busy) / float64(t.total-before.total)
}
