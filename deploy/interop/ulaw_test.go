package interop

import "testing"

func TestUlawDecode(t *testing.T) {
	// Reference points of ITU-T G.711 table 2a (decoder output, 14-bit
	// values shifted to 16-bit).
	tests := []struct {
		in   byte
		want int16
	}{
		{0xff, 0}, {0x7f, 0}, {0x80, 32124}, {0x00, -32124}, {0xf0, 120}, {0x70, -120},
	}
	for _, tt := range tests {
		if got := UlawDecode(tt.in); got != tt.want {
			t.Errorf("UlawDecode(%#x) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestUlawEncode(t *testing.T) {
	tests := []struct {
		in   int16
		want byte
	}{
		{0, 0xff}, {-1, 0x7f}, {32767, 0x80}, {-32768, 0x00}, {120, 0xf0}, {-120, 0x70},
	}
	for _, tt := range tests {
		if got := UlawEncode(tt.in); got != tt.want {
			t.Errorf("UlawEncode(%d) = %#x, want %#x", tt.in, got, tt.want)
		}
	}
	// Every code decodes and re-encodes to itself (0x7f and 0xff both
	// mean zero; the encoder picks 0xff).
	for u := 0; u < 256; u++ {
		if u == 0x7f {
			continue
		}
		if got := UlawEncode(UlawDecode(byte(u))); got != byte(u) {
			t.Errorf("round trip %#x -> %d -> %#x", u, UlawDecode(byte(u)), got)
		}
	}
}

func TestAppendUlaw(t *testing.T) {
	got := AppendUlaw([]int16{7}, []byte{0xff, 0x80, 0x00})
	want := []int16{7, 0, 32124, -32124}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got %v, want %v", got, want)
		}
	}
}
