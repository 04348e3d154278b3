package relay

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/relay/sim"
)

func seqPkt(ssrc uint32, seq uint16) []byte {
	p := make([]byte, 12)
	p[0] = 0x80
	binary.BigEndian.PutUint16(p[2:], seq)
	binary.BigEndian.PutUint32(p[8:], ssrc)
	return p
}

func TestSeqMap(t *testing.T) {
	var m seqMap
	send := func(ssrc uint32, seq uint16) uint16 {
		p := seqPkt(ssrc, seq)
		m.rewrite(p)
		return binary.BigEndian.Uint16(p[2:])
	}
	steps := []struct {
		ssrc     uint32
		in, want uint16
	}{
		{1, 1000, 1000}, {1, 1001, 1001}, {1, 1003, 1003}, // loss passes through
		{1, 1002, 1002},            // reordering passes through
		{1, 5, 1004}, {1, 6, 1005}, // restart: continue after 1003
		{1, 4, 1003},    // late packet of the new run
		{1, 65535, 998}, // 7 behind the run: a late packet, mapped alike
		{2, 777, 777},   // new SSRC: new stream, no mapping
		{2, 778, 778},
	}
	for i, s := range steps {
		if got := send(s.ssrc, s.in); got != s.want {
			t.Fatalf("step %d: in %d -> %d, want %d", i, s.in, got, s.want)
		}
	}
}

// TestPhoneSequenceReset: a phone restarts its sequence numbers mid-call
// (same SSRC). Every packet must still decrypt at the upstream, whose
// replay window would otherwise drop the restarted run as too old.
func TestPhoneSequenceReset(t *testing.T) {
	r, _ := newTestRelay(t, nil)
	defer r.Close()
	c := placeCall(t, r, "seq-reset", callOpts{setup: "active", mux: true})
	for i := range 50 {
		if _, err := c.phone.SendRTP(payload("A", i)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 3*time.Second, "first run", func() bool { got, _ := c.up.Received(); return len(got) == 50 })
	rewind(c.phone, 1000) // the handset restarts 1000 numbers back
	for i := range 50 {
		if _, err := c.phone.SendRTP(payload("B", i)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 3*time.Second, "second run decrypted", func() bool { got, _ := c.up.Received(); return len(got) == 100 })
	got, _ := c.up.Received()
	for i := 1; i < len(got); i++ {
		prev := binary.BigEndian.Uint16(got[i-1].Data[2:])
		cur := binary.BigEndian.Uint16(got[i].Data[2:])
		if cur != prev+1 {
			t.Fatalf("upstream sequence jumps %d -> %d at packet %d", prev, cur, i)
		}
	}
	if c.up.AuthErrors() != 0 {
		t.Fatalf("%d packets failed at the upstream", c.up.AuthErrors())
	}
}

func rewind(p *sim.Phone, n uint16) { p.Rewind(n) }
