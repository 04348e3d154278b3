package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Metrics is one /metrics scrape: series ("name" or `name{label="v"}`,
// exactly as exposed) to value.
type Metrics map[string]float64

// ParseMetrics reads the Prometheus text exposition format (comments and
// blank lines skipped). A series whose value does not parse is an error:
// the soak must never compare against a value it misread.
func ParseMetrics(r io.Reader) (Metrics, error) {
	m := Metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		// The value follows the last space outside the label set; label
		// values may themselves contain spaces.
		i := strings.LastIndexByte(line, '}')
		j := strings.IndexByte(line[i+1:], ' ')
		if j < 0 {
			return nil, fmt.Errorf("metrics: no value in %q", line)
		}
		series := line[:i+1+j]
		fields := strings.Fields(line[i+1+j:])
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics: %q: %v", line, err)
		}
		m[series] = v
	}
	return m, sc.Err()
}

// Sum adds every series of one metric name (all label sets).
func (m Metrics) Sum(name string) float64 {
	var s float64
	for k, v := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			s += v
		}
	}
	return s
}

// scraper reads /metrics without keeping connections open, so that the
// daemon's goroutine and fd counts are not inflated by the observer.
type scraper struct {
	url    string
	client *http.Client
}

func newScraper(addr string) *scraper {
	return &scraper{
		url:    "http://" + addr + "/metrics",
		client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}},
	}
}

func (s *scraper) scrape() (Metrics, error) {
	resp, err := s.client.Get(s.url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", s.url, resp.Status)
	}
	return ParseMetrics(resp.Body)
}

// countFDs counts the open file descriptors of a process (/proc/PID/fd).
func countFDs(pid int) (int, error) {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return 0, err
	}
	return len(ents), nil
}
