package main

import "net/http"

// metricsHandler serves /metrics; nil until the metrics package is wired.
func (d *daemon) metricsHandler() http.Handler { return nil }
