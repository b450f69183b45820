// Package metrics exports what rpmirror sync does as Prometheus metrics:
// packages and bytes fetched, failures, run durations and the time of the
// last successful run, per repository, plus the Go runtime's and the
// process's own.
//
// It is built on github.com/VictoriaMetrics/metrics rather than the
// Prometheus client: the client's package initialisation (its default
// registry, collectors and protobuf descriptors) runs in every rpmirror
// command and added 2 MB to the resident memory of each, createrepo
// included, where peak memory is a goal; this library's initialisation
// costs nothing measurable, and its text exposition is the same format.
package metrics

import (
	"net/http"
	"strings"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
)

// Sync implements syncer.Metrics on a metric set of its own (not the
// library's default set: tests and several syncers in one process don't
// clash).
type Sync struct {
	set     *vm.Set
	partial func(error) bool
}

// durationBuckets are the upper bounds of the run duration histogram:
// from 50 ms (an unchanged repository) to about 4 hours.
var durationBuckets = func() []float64 {
	b := make([]float64, 12)
	v := 0.05
	for i := range b {
		b[i] = v
		v *= 2.5
	}
	return b
}()

// New returns the metrics. partial tells a run that published with some
// packages left out from one that failed (syncer.ErrPartial; passed in
// to keep this package free of the syncer).
func New(partial func(error) bool) *Sync {
	// TYPE lines, so that Prometheus knows counters from gauges. The
	// setting is the library's, process-wide; it only adds comments.
	vm.ExposeMetadata(true)
	return &Sync{set: vm.NewSet(), partial: partial}
}

// labels renders a label set; values are escaped as the exposition format
// requires, so any repository name is safe.
func labels(kv ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i])
		b.WriteString(`="`)
		b.WriteString(escaper.Replace(kv[i+1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var escaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// PackageFetched counts one verified package.
func (m *Sync) PackageFetched(repo string, n int64) {
	l := labels("repo", repo)
	m.set.GetOrCreateCounter("rpmirror_packages_fetched_total" + l).Inc()
	m.set.GetOrCreateCounter("rpmirror_fetched_bytes_total" + l).AddInt64(n)
}

// PackageFailed counts one package left out.
func (m *Sync) PackageFailed(repo string) {
	m.set.GetOrCreateCounter("rpmirror_package_errors_total" + labels("repo", repo)).Inc()
}

// SyncFinished records a run.
func (m *Sync) SyncFinished(repo string, d time.Duration, err error) {
	m.set.GetOrCreatePrometheusHistogramExt("rpmirror_sync_duration_seconds"+labels("repo", repo), durationBuckets).Update(d.Seconds())
	result := "ok"
	switch {
	case err == nil:
		m.set.GetOrCreateGauge("rpmirror_last_success_timestamp_seconds"+labels("repo", repo), nil).Set(float64(time.Now().UnixNano()) / 1e9)
	case m.partial != nil && m.partial(err):
		result = "partial"
	default:
		result = "error"
	}
	m.set.GetOrCreateCounter("rpmirror_sync_runs_total" + labels("repo", repo, "result", result)).Inc()
}

// Handler serves the metrics in the Prometheus text exposition format,
// with the Go runtime's and the process's metrics (go_*, process_*).
func (m *Sync) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		m.set.WritePrometheus(w)
		vm.WriteProcessMetrics(w)
	})
}
