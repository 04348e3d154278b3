package load

import (
	"errors"
	"os"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want time.Duration
		err  bool
	}{
		{"rtpengine", "4801 (rtpengine) S 1 4800 4800 0 -1 4194624 1711 0 0 0 250 130 0 0 20 0 9 0 2860 1081344000 9763 18446744073709551615 1 1 0 0 0 0 0 4096 17992 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
			380 * 10 * time.Millisecond, false},
		{"comm with spaces and parens", "77 (a) b (c) R 1 77 77 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 5 0 0\n",
			100 * time.Millisecond, false},
		{"truncated", "77 (x) R 1 2 3", 0, true},
		{"no comm", "77 x R 1", 0, true},
		{"non-numeric utime", "77 (x) R 1 77 77 0 -1 0 0 0 0 0 zz 3 0 0", 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseStat([]byte(c.in))
			if c.err {
				if !errors.Is(err, ErrProcFormat) {
					t.Fatalf("err = %v, want ErrProcFormat", err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %v, %v; want %v", got, err, c.want)
			}
		})
	}
}

func TestParseRSS(t *testing.T) {
	good := "Name:\trtpengine\nVmPeak:\t 1055848 kB\nVmRSS:\t   39044 kB\nRssAnon:\t 20000 kB\n"
	if got, err := ParseRSS([]byte(good)); err != nil || got != 39044*1024 {
		t.Fatalf("got %d, %v", got, err)
	}
	for name, in := range map[string]string{
		"kernel thread (no VmRSS)": "Name:\tkworker\nState:\tI\n",
		"bad unit":                 "VmRSS:\t 12 MB\n",
		"bad number":               "VmRSS:\t x kB\n",
	} {
		if _, err := ParseRSS([]byte(in)); !errors.Is(err, ErrProcFormat) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestProcSelf(t *testing.T) {
	// This process exists, has run, and holds memory.
	if _, err := ProcCPU(0); err != nil {
		t.Fatal(err)
	}
	rss, err := ProcRSS(os.Getpid())
	if err != nil || rss <= 0 {
		t.Fatalf("rss %d, %v", rss, err)
	}
	if _, err := ProcCPU(1 << 30); err == nil {
		t.Fatal("no error for a pid that cannot exist")
	}
}

func TestParseHostCPU(t *testing.T) {
	in := "cpu  133564 10 23832 223991 776 5 561 174 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n"
	busy, steal, err := ParseHostCPU([]byte(in))
	want := time.Duration(133564+10+23832+5+561+174) * 10 * time.Millisecond
	if err != nil || busy != want || steal != 1740*time.Millisecond {
		t.Fatalf("busy %v steal %v err %v; want %v, 1.74s", busy, steal, err, want)
	}
	for _, bad := range []string{"", "intr 1 2 3", "cpu 1 2 3", "cpu a b c d e f g h"} {
		if _, _, err := ParseHostCPU([]byte(bad)); !errors.Is(err, ErrProcFormat) {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
	if b, _, err := HostCPU(); err != nil || b <= 0 {
		t.Fatalf("HostCPU: %v %v", b, err)
	}
}
