package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry holding the srtpgw collector over src,
// the Go runtime collector and the process collector. It uses its own
// registry, not prometheus.DefaultRegisterer, so nothing a dependency
// registers globally leaks into /metrics.
func NewRegistry(src Sources, build BuildInfo) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	// MustRegister only fails on clashing descriptors, a bug the tests
	// would show, never on anything a deployment can do.
	reg.MustRegister(
		New(src, build),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Handler serves reg for /metrics. Scrapes are capped at two in flight:
// each takes the relay's call-table lock once to read its counters, and a
// scraper stuck in a retry loop must not compete with signalling for it.
// With ContinueOnError a broken metric still leaves the rest readable.
func Handler(reg prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 2,
		Timeout:             10 * time.Second,
	})
}
