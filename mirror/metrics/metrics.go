// Package metrics exports what rpmirror sync does as Prometheus metrics:
// packages and bytes fetched, failures, run durations and the time of the
// last successful run, per repository.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Sync implements syncer.Metrics on a Prometheus registry of its own (no
// global registry: tests and several syncers in one process don't clash).
type Sync struct {
	reg         *prometheus.Registry
	packages    *prometheus.CounterVec
	bytes       *prometheus.CounterVec
	failures    *prometheus.CounterVec
	runs        *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	lastSuccess *prometheus.GaugeVec
	partial     func(error) bool
}

// New returns the metrics with Go runtime and process collectors.
// partial tells a run that published with some packages left out from
// one that failed (syncer.ErrPartial; passed in to keep this package
// free of the syncer).
func New(partial func(error) bool) *Sync {
	m := &Sync{
		partial: partial,
		reg:     prometheus.NewRegistry(),
		packages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rpmirror_packages_fetched_total", Help: "Packages fetched and verified.",
		}, []string{"repo"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rpmirror_fetched_bytes_total", Help: "Bytes of packages fetched and verified.",
		}, []string{"repo"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rpmirror_package_errors_total", Help: "Packages that could not be fetched or failed verification.",
		}, []string{"repo"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rpmirror_sync_runs_total", Help: "Sync runs, by result (ok, partial, error).",
		}, []string{"repo", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rpmirror_sync_duration_seconds", Help: "Duration of sync runs.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2.5, 12),
		}, []string{"repo"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rpmirror_last_success_timestamp_seconds", Help: "Unix time of the last run that published everything.",
		}, []string{"repo"}),
	}
	m.reg.MustRegister(m.packages, m.bytes, m.failures, m.runs, m.duration, m.lastSuccess,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// PackageFetched counts one verified package.
func (m *Sync) PackageFetched(repo string, n int64) {
	m.packages.WithLabelValues(repo).Inc()
	m.bytes.WithLabelValues(repo).Add(float64(n))
}

// PackageFailed counts one package left out.
func (m *Sync) PackageFailed(repo string) { m.failures.WithLabelValues(repo).Inc() }

// SyncFinished records a run.
func (m *Sync) SyncFinished(repo string, d time.Duration, err error) {
	m.duration.WithLabelValues(repo).Observe(d.Seconds())
	result := "ok"
	switch {
	case err == nil:
		m.lastSuccess.WithLabelValues(repo).SetToCurrentTime()
	case m.partial != nil && m.partial(err):
		result = "partial"
	default:
		result = "error"
	}
	m.runs.WithLabelValues(repo, result).Inc()
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Sync) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
