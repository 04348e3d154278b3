package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// buildInfo returns the version, Go version and VCS revision.
func buildInfo() (ver, goVersion, revision string) {
	revision = "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	return version, runtime.Version(), revision
}

func printVersion(w io.Writer) {
	v, g, r := buildInfo()
	fmt.Fprintf(w, "srtpgw %s (%s, revision %s)\n", v, g, r)
}
