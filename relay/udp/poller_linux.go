package udp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Poller is srtpgw's batched socket driver (issue: capacity): one worker
// goroutine per CPU, each with its own epoll set, instead of one goroutine
// per socket. A worker sleeps in epoll_wait, drains each ready socket with
// recvmmsg, runs the Receiver, and writes the outputs with sendmmsg. With
// thousands of sockets this trades a goroutine wake-up and two syscalls
// per packet for a share of one epoll_wait plus one syscall each way.
type Poller struct {
	workers []*worker
}

// Batch and buffer sizes. bufSize leaves room for an SRTP tag on top of the
// largest datagram the relay accepts.
const (
	batch      = 32
	bufSize    = 2048 + 64
	maxEvents  = 128
	flushEvery = 50 * time.Millisecond
	// drainRounds bounds how many batches one socket may take per wake-up,
	// so one flooded socket cannot starve the rest of its worker.
	drainRounds = 4
)

// NewPoller starts n workers (n <= 0: GOMAXPROCS).
func NewPoller(n int) (*Poller, error) {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	p := &Poller{}
	for range n {
		w, err := newWorker()
		if err != nil {
			p.Close()
			return nil, err
		}
		p.workers = append(p.workers, w)
		go w.run()
	}
	return p, nil
}

// Close stops the workers. Sockets must have been closed first.
func (p *Poller) Close() error {
	for _, w := range p.workers {
		w.stop()
	}
	return nil
}

type entry struct {
	c     *FDConn
	r     Receiver
	w     *worker
	dirty bool
	done  chan struct{}
}

type ctlOp uint8

const (
	ctlAdd ctlOp = iota
	ctlRemove
	ctlStop
)

type ctlReq struct {
	op ctlOp
	e  *entry
}

func (p *Poller) add(c *FDConn, r Receiver, group uint32) (*entry, error) {
	w := p.workers[int(group)%len(p.workers)]
	e := &entry{c: c, r: r, w: w, done: make(chan struct{})}
	w.request(ctlReq{op: ctlAdd, e: e})
	return e, nil
}

// remove detaches e and returns once its worker will never touch it again.
func (p *Poller) remove(e *entry) {
	e.w.request(ctlReq{op: ctlRemove, e: e})
	<-e.done
}

// mmsghdr is struct mmsghdr (recvmmsg(2)): a msghdr and the byte count.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
	_   [4]byte
}

// slots is one batch of datagrams with their buffers and addresses.
type slots struct {
	hdr  [batch]mmsghdr
	iov  [batch]unix.Iovec
	name [batch][unix.SizeofSockaddrInet6]byte
	buf  [batch][bufSize]byte
}

func (s *slots) init() {
	for i := range batch {
		s.iov[i].Base = &s.buf[i][0]
		s.iov[i].SetLen(bufSize)
		s.hdr[i].hdr.Iov = &s.iov[i]
		s.hdr[i].hdr.SetIovlen(1)
		s.hdr[i].hdr.Name = &s.name[i][0]
	}
}

type worker struct {
	epfd, evfd int
	// epf is the epoll set as a file the Go runtime's netpoller watches:
	// the worker parks like any goroutine waiting for I/O instead of
	// blocking a thread in epoll_wait, which costs a thread hand-off and
	// a context switch per wake-up.
	epf       *os.File
	rc        syscall.RawConn
	events    [maxEvents]unix.EpollEvent
	mu        sync.Mutex
	pending   []ctlReq
	table     map[int32]*entry
	dirty     []*entry
	lastFlush time.Time
	stopped   chan struct{}

	rx slots
	tx slots
	nt int // queued sends in tx
	// per queued send: the socket and the Receiver that produced it
	txFD   [batch]int
	txFrom [batch]*entry

	// onReady is the readiness callback handed to rc.Read, built once:
	// a closure literal at the call site escapes to the heap on every
	// wake-up (pprof showed it as the daemon's largest steady-state
	// allocation, ~10 000 per second at 400 calls).
	onReady func(uintptr) bool
	running bool
}

func newWorker() (*worker, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(evfd)}); err != nil {
		unix.Close(epfd)
		unix.Close(evfd)
		return nil, err
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		unix.Close(evfd)
		return nil, err
	}
	w := &worker{epfd: epfd, evfd: evfd, table: map[int32]*entry{}, stopped: make(chan struct{})}
	w.epf = os.NewFile(uintptr(epfd), "epoll")
	rc, err := w.epf.SyscallConn()
	if err != nil {
		w.epf.Close()
		unix.Close(evfd)
		return nil, err
	}
	w.rc = rc
	w.onReady = w.ready
	w.rx.init()
	w.tx.init()
	return w, nil
}

// request queues a control request and wakes the worker.
func (w *worker) request(r ctlReq) {
	w.mu.Lock()
	w.pending = append(w.pending, r)
	w.mu.Unlock()
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(w.evfd, one[:])
}

func (w *worker) stop() {
	w.request(ctlReq{op: ctlStop})
	<-w.stopped
	w.epf.Close()
	unix.Close(w.evfd)
}

func (w *worker) run() {
	defer close(w.stopped)
	w.lastFlush = time.Now()
	w.running = true
	for w.running {
		// Read parks the goroutine in the runtime's netpoller until the
		// epoll set is readable, then calls onReady; returning false
		// parks it again. epoll_wait itself never blocks (timeout 0).
		if err := w.rc.Read(w.onReady); err != nil {
			return
		}
	}
}

// ready is onReady: one non-blocking epoll_wait and the round it reports.
func (w *worker) ready(uintptr) bool {
	// RawSyscall: epoll_pwait with timeout 0, recvmmsg and sendmmsg with
	// MSG_DONTWAIT never block, so the runtime's syscall bookkeeping (and
	// sysmon's P hand-offs it invites) buys nothing; profiles showed it
	// per packet.
	r1, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(w.epfd), uintptr(unsafe.Pointer(&w.events[0])), maxEvents, 0, 0, 0)
	n := int(r1)
	if errno != 0 {
		if errno != unix.EINTR {
			panic(fmt.Sprintf("udp poller: epoll_wait: %v", errno))
		}
		n = 0
	}
	if n <= 0 {
		// Idle: publish what is pending, then wait.
		w.flushDirty()
		return false
	}
	w.running = w.round(n)
	return true
}

// round handles n ready events; it returns false on stop.
func (w *worker) round(n int) bool {
	{
		for i := range n {
			fd := w.events[i].Fd
			if int(fd) == w.evfd {
				if !w.control() {
					return false
				}
				continue
			}
			if e := w.table[fd]; e != nil {
				w.drain(e)
			}
		}
		w.flushSends()
		if time.Since(w.lastFlush) >= flushEvery {
			w.flushDirty()
		}
	}
	return true
}

// control runs queued requests; it returns false on stop.
func (w *worker) control() bool {
	var buf [8]byte
	unix.Read(w.evfd, buf[:])
	w.mu.Lock()
	reqs := w.pending
	w.pending = nil
	w.mu.Unlock()
	for _, r := range reqs {
		switch r.op {
		case ctlAdd:
			fd := int32(r.e.c.fd)
			w.table[fd] = r.e
			// Level-triggered: datagrams queued before the add are
			// reported at once.
			if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, int(fd), &unix.EpollEvent{Events: unix.EPOLLIN, Fd: fd}); err != nil {
				delete(w.table, fd)
			}
		case ctlRemove:
			w.flushSends() // nothing queued may refer to a detached Receiver
			fd := int32(r.e.c.fd)
			if w.table[fd] == r.e {
				unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
				delete(w.table, fd)
			}
			if r.e.dirty {
				r.e.r.Flush()
				r.e.dirty = false
				w.dirty = removeEntry(w.dirty, r.e)
			}
			close(r.e.done)
		case ctlStop:
			return false
		}
	}
	return true
}

func removeEntry(list []*entry, e *entry) []*entry {
	for i, x := range list {
		if x == e {
			last := len(list) - 1
			list[i] = list[last]
			list[last] = nil // the array must not keep a detached entry alive
			return list[:last]
		}
	}
	return list
}

// drain reads e's socket in batches and runs its Receiver on each datagram.
func (w *worker) drain(e *entry) {
	fd := e.c.fd
	for range drainRounds {
		for i := range batch {
			w.rx.hdr[i].hdr.Namelen = unix.SizeofSockaddrInet6
			w.rx.hdr[i].hdr.Flags = 0
		}
		r1, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&w.rx.hdr[0])),
			batch, unix.MSG_DONTWAIT, 0, 0)
		if errno != 0 || int(r1) <= 0 {
			return
		}
		k := int(r1)
		if !e.dirty {
			e.dirty = true
			w.dirty = append(w.dirty, e)
		}
		for i := range k {
			h := &w.rx.hdr[i]
			pkt := w.rx.buf[i][:h.n]
			if h.hdr.Flags&unix.MSG_TRUNC != 0 {
				pkt = w.rx.buf[i][:] // the Receiver drops an over-long datagram
			}
			w.deliver(e, pkt, parseName(&w.rx.name[i]))
		}
		if k < batch {
			return
		}
	}
}

// deliver runs the Receiver and queues its output.
func (w *worker) deliver(e *entry, pkt []byte, from netip.AddrPort) {
	slot := w.nt
	scratch := w.tx.buf[slot][:]
	out, via, to := e.r.Receive(pkt, from, scratch)
	if out == nil {
		return
	}
	fc, ok := via.(*FDConn)
	if !ok {
		if _, err := via.WriteToUDPAddrPort(out, to); err != nil {
			e.r.SendFailed(out)
		}
		return
	}
	if len(out) > bufSize {
		e.r.SendFailed(out)
		return
	}
	if &out[0] != &scratch[0] {
		copy(scratch, out)
	}
	w.tx.iov[slot].SetLen(len(out))
	w.tx.hdr[slot].hdr.Namelen = putName(&w.tx.name[slot], to)
	w.txFD[slot] = fc.fd
	w.txFrom[slot] = e
	w.nt++
	if w.nt == batch {
		w.flushSends()
	}
}

// flushSends writes the queued datagrams, one sendmmsg per run of
// datagrams that leave through the same socket.
func (w *worker) flushSends() {
	for i := 0; i < w.nt; {
		j := i + 1
		for j < w.nt && w.txFD[j] == w.txFD[i] {
			j++
		}
		for i < j {
			r1, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(w.txFD[i]), uintptr(unsafe.Pointer(&w.tx.hdr[i])),
				uintptr(j-i), unix.MSG_DONTWAIT, 0, 0)
			if errno != 0 || int(r1) <= 0 {
				w.txFrom[i].r.SendFailed(w.tx.buf[i][:w.tx.iov[i].Len]) // the first unsent one failed; try the rest
				i++
				continue
			}
			i += int(r1)
		}
	}
	for i := range w.nt {
		w.txFrom[i] = nil
	}
	w.nt = 0
}

func (w *worker) flushDirty() {
	for _, e := range w.dirty {
		e.r.Flush()
		e.dirty = false
	}
	// Clear before truncating: the backing array would otherwise keep
	// ended calls (their streams and SRTP keys) reachable.
	clear(w.dirty)
	w.dirty = w.dirty[:0]
	w.lastFlush = time.Now()
}

// parseName reads a sockaddr_in or sockaddr_in6 (sa_family in host order,
// port and address in network order).
func parseName(b *[unix.SizeofSockaddrInet6]byte) netip.AddrPort {
	port := binary.BigEndian.Uint16(b[2:4])
	switch binary.NativeEndian.Uint16(b[0:2]) {
	case unix.AF_INET:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), port)
	case unix.AF_INET6:
		a := netip.AddrFrom16([16]byte(b[8:24])).Unmap()
		return netip.AddrPortFrom(a, port)
	}
	return netip.AddrPort{}
}

// putName writes a as a sockaddr and returns its length.
func putName(b *[unix.SizeofSockaddrInet6]byte, a netip.AddrPort) uint32 {
	*b = [unix.SizeofSockaddrInet6]byte{}
	binary.BigEndian.PutUint16(b[2:4], a.Port())
	if a.Addr().Is4() || a.Addr().Is4In6() {
		binary.NativeEndian.PutUint16(b[0:2], unix.AF_INET)
		v4 := a.Addr().Unmap().As4()
		copy(b[4:8], v4[:])
		return unix.SizeofSockaddrInet4
	}
	binary.NativeEndian.PutUint16(b[0:2], unix.AF_INET6)
	v6 := a.Addr().As16()
	copy(b[8:24], v6[:])
	return unix.SizeofSockaddrInet6
}
