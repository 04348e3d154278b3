package main

import (
	"net/http"

	"github.com/srtpgw/srtpgw/relay/metrics"
)

// metricsHandler serves /metrics from one collector that reads the relay,
// the ng server and the call log at scrape time.
func (d *daemon) metricsHandler() http.Handler {
	v, g, r := buildInfo()
	reg := metrics.NewRegistry(metrics.Sources{Relay: d.relay, NG: d.ng, Audit: d.audit},
		metrics.BuildInfo{Version: v, GoVersion: g, Revision: r})
	return metrics.Handler(reg)
}
