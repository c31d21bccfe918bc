package bench

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// latencies collects request durations; safe for concurrent use.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// stats is a summary of a set of durations.
type stats struct {
	n             int
	p50, p99, max time.Duration
}

func (l *latencies) stats() stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return summarize(l.d)
}

// summarize sorts d in place and returns its nearest-rank percentiles.
func summarize(d []time.Duration) stats {
	if len(d) == 0 {
		return stats{}
	}
	slices.Sort(d)
	return stats{n: len(d), p50: percentile(d, 50), p99: percentile(d, 99), max: d[len(d)-1]}
}

// percentile returns the nearest-rank p-th percentile of sorted d.
func percentile(d []time.Duration, p int) time.Duration {
	rank := (p*len(d) + 99) / 100 // ceil(p/100 * n)
	return d[max(rank, 1)-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// reportLatency reports p50/p99 of st under the prefix ("create-p99-ms").
func reportLatency(b *testing.B, prefix string, st stats) {
	b.ReportMetric(ms(st.p50), prefix+"-p50-ms")
	b.ReportMetric(ms(st.p99), prefix+"-p99-ms")
}

// summary lines are printed by TestMain once all benchmarks have run.
var summary struct {
	sync.Mutex
	lines []string
}

// note adds one line to the summary printed at the end of the run.
func note(format string, args ...any) {
	summary.Lock()
	summary.lines = append(summary.lines, fmt.Sprintf(format, args...))
	summary.Unlock()
}

func printSummary(w io.Writer) {
	summary.Lock()
	defer summary.Unlock()
	if len(summary.lines) == 0 {
		return
	}
	fmt.Fprintf(w, "\n=== Skiff API server benchmark summary (%s, %d CPUs, %s) ===\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.Version())
	for _, l := range summary.lines {
		fmt.Fprintln(w, l)
	}
}
