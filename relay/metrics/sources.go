package metrics

import (
	"reflect"
	"runtime"
	"strings"
	"unicode/utf8"

	"github.com/srtpgw/srtpgw/relay"
	"github.com/srtpgw/srtpgw/relay/audit"
	"github.com/srtpgw/srtpgw/relay/ng"
)

// RelaySource is the media relay (*relay.Relay satisfies it).
type RelaySource interface {
	Snapshot() relay.Snapshot
}

// NGSource is the ng control server (*ng.Server satisfies it).
type NGSource interface {
	Stats() ng.Stats
}

// AuditSource is the call log (*audit.Log satisfies it).
type AuditSource interface {
	Stats() audit.Stats
}

// Sources are what the collector reads at scrape time. Each is optional: a
// nil source (including a typed nil pointer such as a (*audit.Log)(nil)
// when the call log is off) leaves its metrics out of the scrape.
type Sources struct {
	Relay RelaySource
	NG    NGSource
	Audit AuditSource
}

// BuildInfo labels srtpgw_build_info. Empty fields become "unknown"
// (GoVersion: runtime.Version()).
type BuildInfo struct {
	Version   string
	GoVersion string
	Revision  string
}

// maxBuildLabel bounds a build-info label value: they come from -ldflags,
// not from the network, but a label should stay short whatever is linked in.
const maxBuildLabel = 64

func (b BuildInfo) normalized() BuildInfo {
	if b.GoVersion == "" {
		b.GoVersion = runtime.Version()
	}
	return BuildInfo{
		Version:   buildLabel(b.Version),
		GoVersion: buildLabel(b.GoVersion),
		Revision:  buildLabel(b.Revision),
	}
}

// buildLabel makes s a valid, bounded label value: the exposition format
// needs UTF-8, and control characters have no business in a version.
func buildLabel(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	if len(s) > maxBuildLabel {
		s = strings.ToValidUTF8(s[:maxBuildLabel], "")
	}
	if s == "" {
		return "unknown"
	}
	return s
}

// present reports whether a source can be called. An interface holding a
// nil pointer is not nil, yet calling Stats on a nil *audit.Log panics
// inside a scrape goroutine and takes the whole process (and every call)
// down with it; the daemon is expected to pass such values when a
// component is switched off, so they count as absent.
func present(src any) bool {
	if src == nil {
		return false
	}
	v := reflect.ValueOf(src)
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
		return !v.IsNil()
	}
	return true
}
