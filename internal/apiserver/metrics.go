package apiserver

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, named as upstream's.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	handler  http.Handler
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "apiserver_request_total",
		Help: "Counter of apiserver requests broken out for each verb, group, version, resource and HTTP response code.",
	}, []string{"verb", "group", "version", "resource", "subresource", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "apiserver_request_duration_seconds",
		Help:    "Response latency distribution in seconds for each verb, group, version, resource and subresource.",
		Buckets: []float64{0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60},
	}, []string{"verb", "group", "version", "resource", "subresource"})
	m.reg.MustRegister(m.requests, m.latency, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

func (m *metrics) observe(r *http.Request, code int, d time.Duration) {
	ri, ok := parseRequest(r)
	if !ok {
		return
	}
	verb := ri.Verb
	if verb == "watch" {
		// Watches last minutes; their duration says nothing about latency.
		m.requests.WithLabelValues("WATCH", ri.Group, ri.Version, ri.Resource, ri.Subresource, strconv.Itoa(code)).Inc()
		return
	}
	m.requests.WithLabelValues(verbLabel(verb), ri.Group, ri.Version, ri.Resource, ri.Subresource, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(verbLabel(verb), ri.Group, ri.Version, ri.Resource, ri.Subresource).Observe(d.Seconds())
}

func verbLabel(v string) string {
	switch v {
	case "get", "list":
		return map[string]string{"get": "GET", "list": "LIST"}[v]
	case "create":
		return "POST"
	case "update":
		return "PUT"
	case "patch":
		return "PATCH"
	case "delete", "deletecollection":
		return "DELETE"
	}
	return v
}

func (m *metrics) serve(w http.ResponseWriter, r *http.Request) { m.handler.ServeHTTP(w, r) }

func writeIndentedJSON(w io.Writer, v interface{}) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to do
}
