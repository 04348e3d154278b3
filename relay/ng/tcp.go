package ng

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// rtpengine's --listen-tcp-ng carries the same `<cookie> <bencode>`
// messages back to back on a stream, with no other framing: a message ends
// where its bencode value ends (control_ng.c, chunk_message). srtpgw does
// the same through the same Handle, bencode only (rtpengine's TCP listener
// does not take JSON either). A stream that cannot be framed, or that
// buffers more than MaxMessage without a complete message, is closed.

const (
	maxTCPConns     = 64
	tcpReadChunk    = 4096
	tcpWriteTimeout = 5 * time.Second
)

var errNeedMore = errors.New("ng: incomplete message")

// ServeTCP accepts ng connections on ln until ctx is done (it then closes
// ln and every connection) or ln is closed, and returns nil after every
// connection has finished. Connections from outside Config.Allow are
// closed at once.
func (s *Server) ServeTCP(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, maxTCPConns)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		from := remoteAddrPort(c)
		if !s.allowed(from.Addr()) {
			s.reject(from)
			_ = c.Close()
			continue
		}
		select {
		case sem <- struct{}{}:
		default:
			if ok, _ := s.warns.allow(); ok {
				s.log.Warn("ng: too many TCP connections, closing", "client", from, "max", maxTCPConns)
			}
			_ = c.Close()
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			s.serveConn(ctx, c, from)
		})
	}
}

func (s *Server) serveConn(ctx context.Context, c net.Conn, from netip.AddrPort) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	buf := make([]byte, tcpReadChunk) // grows up to MaxMessage
	have := 0
	for {
		n, err := c.Read(buf[have:])
		have += n
		off := 0
		for {
			size, ferr := frameLen(buf[off:have])
			if errors.Is(ferr, errNeedMore) {
				break
			}
			if ferr != nil {
				s.dropped(from, DropMalformed)
				return
			}
			// Handle is done with the bytes when it returns (it copies
			// what it keeps), so the buffer can be reused afterwards.
			if reply := s.Handle(ctx, buf[off:off+size], from); reply != nil {
				_ = c.SetWriteDeadline(time.Now().Add(tcpWriteTimeout))
				if _, werr := c.Write(reply); werr != nil {
					return
				}
			}
			off += size
		}
		have = copy(buf, buf[off:have])
		if err != nil {
			return
		}
		if have >= s.cfg.MaxMessage {
			s.dropped(from, DropTooLarge)
			return
		}
		if have == len(buf) {
			buf = append(buf, make([]byte, min(len(buf), s.cfg.MaxMessage-len(buf)+1))...)
		}
	}
}

// frameLen returns the length of the complete message at the start of b,
// errNeedMore if b holds only part of one, or an error if b cannot start a
// message.
func frameLen(b []byte) (int, error) {
	sp := -1
	for i, c := range b {
		if c == ' ' {
			sp = i
			break
		}
		if i >= maxCookie {
			return 0, errors.New("ng: cookie too long")
		}
	}
	switch {
	case sp < 0:
		return 0, errNeedMore
	case sp == 0:
		return 0, errors.New("ng: no cookie")
	}
	_, n, err := decodePrefix(b[sp+1:], DefaultLimits)
	if errors.Is(err, ErrTruncated) {
		return 0, errNeedMore
	}
	if err != nil {
		return 0, err
	}
	return sp + 1 + n, nil
}

func remoteAddrPort(c net.Conn) netip.AddrPort {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	return ap
}
