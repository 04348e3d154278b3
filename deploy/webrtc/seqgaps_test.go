package webrtc

// RTP sequence-number analysis of what the phone received; the audio itself
// is checked with interop.AnalyseTone.

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

// seqGaps describes the RTP sequence numbers of a received stream: where
// packets went missing tells a late start from a stall or a burst loss.
type seqGaps struct {
	first, last    uint16
	received, lost int
	gaps           int // runs of missing packets
	largest        int // longest run
}

func (g seqGaps) String() string {
	return fmt.Sprintf("seq %d..%d: %d received, %d lost in %d gaps (largest %d)", g.first, g.last, g.received, g.lost, g.gaps, g.largest)
}

// readSeqGaps assumes arrival order is sending order (loopback) and
// handles the 16-bit wrap (RFC 3550 §A.1).
func readSeqGaps(pkts [][]byte) seqGaps {
	var g seqGaps
	for _, p := range pkts {
		if len(p) < 12 {
			continue
		}
		seq := binary.BigEndian.Uint16(p[2:])
		if g.received > 0 {
			if d := int(seq - g.last); d > 1 && d < 1<<15 {
				g.gaps++
				g.lost += d - 1
				g.largest = max(g.largest, d-1)
			}
		} else {
			g.first = seq
		}
		g.last = seq
		g.received++
	}
	return g
}

func TestReadSeqGaps(t *testing.T) {
	mk := func(seqs ...uint16) [][]byte {
		var out [][]byte
		for _, s := range seqs {
			p := make([]byte, 12)
			binary.BigEndian.PutUint16(p[2:], s)
			out = append(out, p)
		}
		return out
	}
	tests := []struct {
		name string
		in   [][]byte
		want seqGaps
	}{
		{"none", nil, seqGaps{}},
		{"contiguous across the wrap", mk(65534, 65535, 0, 1), seqGaps{first: 65534, last: 1, received: 4}},
		{"two gaps", mk(10, 11, 14, 15, 20), seqGaps{first: 10, last: 20, received: 5, lost: 6, gaps: 2, largest: 4}},
		{"gap across the wrap", mk(65535, 2), seqGaps{first: 65535, last: 2, received: 2, lost: 2, gaps: 1, largest: 2}},
		{"duplicate and short packet ignored", mk(5, 5, 6), seqGaps{first: 5, last: 6, received: 3}},
	}
	for _, tt := range tests {
		in := tt.in
		if tt.name == "duplicate and short packet ignored" {
			in = append(in, []byte{0x80})
		}
		if got := readSeqGaps(in); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
	if s := (seqGaps{first: 1, last: 9, received: 5, lost: 4, gaps: 1, largest: 4}).String(); !strings.Contains(s, "4 lost in 1 gaps") {
		t.Errorf("String() = %q", s)
	}
}
