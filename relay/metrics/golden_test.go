package metrics

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/metrics.golden from the current output")

const goldenPath = "testdata/metrics.golden"

// TestGolden freezes the whole srtpgw scrape from fixed snapshots: names,
// help, types, label sets and where each source field lands. Regenerate
// with `go test ./relay/metrics/ -run TestGolden -update` and review the
// diff by eye: a renamed metric breaks dashboards and alerts.
func TestGolden(t *testing.T) {
	got := exposition(t, ownFamilies(gather(t, NewRegistry(goldenSources(), goldenBuild))))
	path := filepath.FromSlash(goldenPath)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("scrape differs from %s (run with -update if intended):\n%s", path, lineDiff(string(want), string(got)))
	}
}

// lineDiff lists lines only in want (-) or only in got (+), enough to see
// what changed in a sorted exposition.
func lineDiff(want, got string) string {
	count := func(s string) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(s, "\n") {
			m[l]++
		}
		return m
	}
	w, g := count(want), count(got)
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if g[l] < w[l] {
			b.WriteString("- " + l + "\n")
			w[l]--
		}
	}
	w = count(want)
	for _, l := range strings.Split(got, "\n") {
		if w[l] < g[l] {
			b.WriteString("+ " + l + "\n")
			g[l]--
		}
	}
	return b.String()
}

// TestRegistryHasRuntimeCollectors checks the Go and process collectors
// are registered beside srtpgw's (the golden file leaves them out).
func TestRegistryHasRuntimeCollectors(t *testing.T) {
	fams := gather(t, NewRegistry(Sources{}, BuildInfo{}))
	for _, name := range []string{"go_goroutines", "go_info", "process_cpu_seconds_total", "srtpgw_build_info"} {
		if _, ok := value(fams, name, nil); !ok {
			t.Errorf("%s missing from the registry", name)
		}
	}
}
