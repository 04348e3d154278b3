package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestLint runs promlint (naming, units, _total on counters only, help
// text) over everything the collector emits, including the "unknown"
// series only hostile sources produce.
func TestLint(t *testing.T) {
	cases := []struct {
		name string
		src  Sources
	}{
		{"golden", goldenSources()},
		{"hostile", hostileSources()},
		{"empty snapshots", Sources{Relay: fakeRelay{}, NG: fakeNG{}, Audit: fakeAudit{}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := New(tc.src, goldenBuild)
			n := testutil.CollectAndCount(c)
			if n < 30 {
				t.Fatalf("collector emitted only %d series", n)
			}
			problems, err := testutil.CollectAndLint(c)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("lint: %s: %s", p.Metric, p.Text)
			}
		})
	}
}

// TestPedanticRegistry registers the collector with a pedantic registry,
// which checks that every collected metric matches a described descriptor
// (name, help, label names): Describe and Collect must not drift apart.
func TestPedanticRegistry(t *testing.T) {
	for _, src := range []Sources{goldenSources(), hostileSources(), {}} {
		reg := prometheus.NewPedanticRegistry()
		if err := reg.Register(New(src, goldenBuild)); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.Gather(); err != nil {
			t.Fatalf("pedantic gather: %v", err)
		}
	}
}
