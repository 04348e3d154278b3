package load

import (
	"encoding/binary"
	"sync/atomic"
)

// Directions of media through the relay.
const (
	DirUp   = 0 // phone -> relay -> upstream (RTP in, SRTP out)
	DirDown = 1 // upstream -> relay -> phone (SRTP in, RTP out)
)

// Packet layout: a 12-byte RTP header (RFC 3550 §5.1), then 160 bytes of
// payload (20 ms of G.711 at 8 kHz) whose first 24 bytes are the probe
// below and the rest µ-law silence (0xFF). 172 bytes in all, like a desk
// phone's packets.
const (
	rtpHeaderLen = 12
	payloadLen   = 160
	PacketLen    = rtpHeaderLen + payloadLen
	probeLen     = 24
	probeMagic   = 0x53524c44 // "SRLD"
)

// writeProbe fills the probe: magic, flow id, epoch, a 32-bit packet
// counter (it cannot wrap in a bounded run) and the monotonic send time.
func writeProbe(payload []byte, flow, epoch, count uint32, sent int64) {
	binary.BigEndian.PutUint32(payload[0:], probeMagic)
	binary.BigEndian.PutUint32(payload[4:], flow)
	binary.BigEndian.PutUint32(payload[8:], epoch)
	binary.BigEndian.PutUint32(payload[12:], count)
	binary.BigEndian.PutUint64(payload[16:], uint64(sent))
}

// probe is what a receiver reads back.
type probe struct {
	flow, epoch, count uint32
	sent               int64
}

// readProbe parses a received RTP packet's probe.
func readProbe(pkt []byte) (probe, bool) {
	if len(pkt) < rtpHeaderLen+probeLen {
		return probe{}, false
	}
	p := pkt[rtpHeaderLen:]
	if binary.BigEndian.Uint32(p) != probeMagic {
		return probe{}, false
	}
	return probe{
		flow:  binary.BigEndian.Uint32(p[4:]),
		epoch: binary.BigEndian.Uint32(p[8:]),
		count: binary.BigEndian.Uint32(p[12:]),
		sent:  int64(binary.BigEndian.Uint64(p[16:])),
	}, true
}

// epochSlots is how many measurement windows are kept at once; a window's
// slot is reused epochSlots windows later, long after its packets drained.
const epochSlots = 8

// dirCounters are one direction's counts within one epoch.
type dirCounters struct {
	sent, recv, sendErr atomic.Uint64
	lat                 Hist
}

// Stats is shared by every sender and receiver of a run. Packets carry the
// epoch they were sent in, and a receiver credits the sender's epoch, so a
// window's loss is exact even though media never stops between windows.
type Stats struct {
	epoch atomic.Uint32
	ep    [epochSlots][2]dirCounters

	// Totals over the whole run, for the progress line.
	totSent, totRecv [2]atomic.Uint64

	Invalid   atomic.Uint64 // not ours: bad magic, wrong flow for the socket, junk
	Early     atomic.Uint64 // SRTP before our keys were ready
	AuthFail  atomic.Uint64 // SRTP that failed authentication or replay check
	Reordered atomic.Uint64 // arrived after a later packet of its stream (or twice)
	RTCP      atomic.Uint64 // RTCP received (the relay may send its own)

	ice iceCounters // -ice: checks sent and answered (ice_stats.go)
}

// Epoch is the current epoch.
func (s *Stats) Epoch() uint32 { return s.epoch.Load() }

// BeginEpoch clears e's slot and makes it current.
func (s *Stats) BeginEpoch(e uint32) {
	for d := range 2 {
		c := &s.ep[e%epochSlots][d]
		c.sent.Store(0)
		c.recv.Store(0)
		c.sendErr.Store(0)
		c.lat.Reset()
	}
	s.ice.reset(e)
	s.epoch.Store(e)
}

func (s *Stats) counters(e uint32, dir int) *dirCounters { return &s.ep[e%epochSlots][dir] }

// sent accounts one send attempt in the current epoch.
func (s *Stats) sent(dir int, e uint32, err error) {
	c := s.counters(e, dir)
	if err != nil {
		c.sendErr.Add(1)
		return
	}
	c.sent.Add(1)
	s.totSent[dir].Add(1)
}

// rxState is a receiving socket's own memory, touched by its goroutine only.
type rxState struct {
	flow      uint32
	last      uint32
	seen      bool
	delivered atomic.Uint64
}

// record accounts one received media packet at time now.
func (s *Stats) record(dir int, rx *rxState, pkt []byte, now int64) {
	p, ok := readProbe(pkt)
	if !ok || p.flow != rx.flow {
		s.Invalid.Add(1)
		return
	}
	if rx.seen && p.count <= rx.last {
		s.Reordered.Add(1) // late or duplicated; a gap alone is loss, counted elsewhere
	} else {
		rx.seen, rx.last = true, p.count
	}
	rx.delivered.Add(1)
	c := s.counters(p.epoch, dir)
	c.recv.Add(1)
	c.lat.Record(now - p.sent)
	s.totRecv[dir].Add(1)
}

// DirWindow is one direction's result over one epoch.
type DirWindow struct {
	Sent, Received, SendErrors uint64
	Lat                        *HistSnapshot
}

// Lost is sent minus received, never negative (duplicates would make it so).
func (d DirWindow) Lost() uint64 {
	if d.Received >= d.Sent {
		return 0
	}
	return d.Sent - d.Received
}

// LossRatio is Lost/Sent (0 with nothing sent).
func (d DirWindow) LossRatio() float64 {
	if d.Sent == 0 {
		return 0
	}
	return float64(d.Lost()) / float64(d.Sent)
}

// Window reads epoch e for one direction.
func (s *Stats) Window(e uint32, dir int) DirWindow {
	c := s.counters(e, dir)
	return DirWindow{Sent: c.sent.Load(), Received: c.recv.Load(), SendErrors: c.sendErr.Load(), Lat: c.lat.Snapshot()}
}

// Totals are run-wide sent and received counts per direction.
func (s *Stats) Totals() (sent, recv [2]uint64) {
	for d := range 2 {
		sent[d], recv[d] = s.totSent[d].Load(), s.totRecv[d].Load()
	}
	return
}
