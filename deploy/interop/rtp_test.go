package interop

import (
	"bytes"
	"testing"
)

func TestRTPPayload(t *testing.T) {
	ext := []byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 1, 2, 3, 4, 0xaa}
	csrc := []byte{0x81, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9, 9, 9, 0xbb}
	tests := []struct {
		name string
		in   []byte
		want []byte
		ok   bool
	}{
		{"plain", []byte{0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xcc}, []byte{0xcc}, true},
		{"extension", ext, []byte{0xaa}, true},
		{"csrc", csrc, []byte{0xbb}, true},
		{"version 1", []byte{0x40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, nil, false},
		{"extension past end", ext[:14], nil, false},
		{"csrc past end", csrc[:14], nil, false},
	}
	for _, tt := range tests {
		got, ok := RTPPayload(tt.in)
		if ok != tt.ok || !bytes.Equal(got, tt.want) {
			t.Errorf("%s: got % x, %v", tt.name, got, ok)
		}
	}
}

func TestDecodePCMUHeaders(t *testing.T) {
	payload := []byte{0xff, 0x80}
	ext := []byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0, 1, 1, 2, 3, 4}
	padded := []byte{0xa0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0}
	tests := []struct {
		name string
		pkt  []byte
		want []int16
	}{
		{"extension skipped", append(append([]byte(nil), ext...), payload...), []int16{0, 32124}},
		{"padding removed", append(append(append([]byte(nil), padded...), payload...), 0, 2), []int16{0, 32124}},
		{"csrc skipped", append([]byte{0x81, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9}, payload...), []int16{0, 32124}},
		{"version 1 ignored", append([]byte{0x40, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0}, payload...), nil},
		{"extension past end", []byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe}, nil},
		{"padding longer than the payload", append(append([]byte(nil), padded...), 0xff, 9), nil},
		{"other payload type", append([]byte{0x80, 8, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0}, payload...), nil},
	}
	for _, tt := range tests {
		got, _ := DecodePCMU([][]byte{tt.pkt})
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			}
		}
	}
}
