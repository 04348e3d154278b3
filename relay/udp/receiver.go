package udp

import "net/netip"

// Receiver is the per-socket packet logic a Poller drives. All three
// methods are called only from the one worker goroutine that owns the
// socket, never concurrently, so a Receiver may keep unsynchronised state
// (pending counters) that it publishes in Flush.
type Receiver interface {
	// Receive handles one datagram. It returns the datagram to send, if
	// any, the socket to send it on and the destination; out may live in
	// scratch. The poller sends it with the next sendmmsg.
	Receive(pkt []byte, from netip.AddrPort, scratch []byte) (out []byte, via Conn, to netip.AddrPort)
	// SendFailed reports that a datagram this Receiver returned could
	// not be sent (a full socket buffer); out holds its bytes.
	SendFailed(out []byte)
	// Flush publishes state the Receiver batches: the poller calls it when
	// its worker goes idle, at least every flushEvery, and when the socket
	// is detached.
	Flush()
}
