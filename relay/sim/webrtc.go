package sim

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// WebRTCPeer is a full WebRTC endpoint built on pion/webrtc/v4: full ICE
// agent, rtcp-mux, DTLS-SRTP, as a telehealth web app or browser softphone
// would be. It answers srtpgw's ICE=force offer, sends PCMU and counts
// what it receives.
type WebRTCPeer struct {
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP

	mu       sync.Mutex
	received []*rtp.Packet
	count    atomic.Uint64
	wg       sync.WaitGroup
}

// WebRTCConfig shapes a WebRTCPeer.
type WebRTCConfig struct {
	// DTLSServer makes the peer answer a=setup:passive (DTLS server);
	// otherwise it answers active, as browsers do.
	DTLSServer bool
	// Profiles restricts the SRTP profiles (nil = pion's defaults).
	Profiles []dtls.SRTPProtectionProfile
}

// NewWebRTCPeer creates the peer. It uses loopback host candidates only.
func NewWebRTCPeer(cfg WebRTCConfig) (*WebRTCPeer, error) {
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	role := webrtc.DTLSRoleClient
	if cfg.DTLSServer {
		role = webrtc.DTLSRoleServer
	}
	if err := se.SetAnsweringDTLSRole(role); err != nil {
		return nil, err
	}
	if cfg.Profiles != nil {
		se.SetSRTPProtectionProfiles(cfg.Profiles...)
	}
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000},
		PayloadType:        0,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, "audio", "peer")
	if err != nil {
		pc.Close()
		return nil, err
	}
	if _, err := pc.AddTrack(track); err != nil {
		pc.Close()
		return nil, err
	}
	p := &WebRTCPeer{pc: pc, track: track}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		p.wg.Add(1)
		defer p.wg.Done()
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			p.count.Add(1)
			p.mu.Lock()
			p.received = append(p.received, pkt)
			p.mu.Unlock()
		}
	})
	return p, nil
}

// Answer sets srtpgw's offer and returns the peer's complete answer (all
// candidates gathered: no trickle).
func (p *WebRTCPeer) Answer(ctx context.Context, offer []byte) ([]byte, error) {
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
		return nil, fmt.Errorf("peer rejected srtpgw's offer: %w", err)
	}
	ans, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return nil, err
	}
	return p.setLocal(ctx, ans)
}

// Offer creates the peer's own complete offer (for peer-to-peer tests).
func (p *WebRTCPeer) Offer(ctx context.Context) ([]byte, error) {
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		return nil, err
	}
	return p.setLocal(ctx, offer)
}

// setLocal applies the peer's own description and returns it once ICE
// gathering is complete, so the SDP carries every candidate.
func (p *WebRTCPeer) setLocal(ctx context.Context, d webrtc.SessionDescription) ([]byte, error) {
	done := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(d); err != nil {
		return nil, err
	}
	select {
	case <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return []byte(p.pc.LocalDescription().SDP), nil
}

// SetAnswer applies the answer to the peer's Offer.
func (p *WebRTCPeer) SetAnswer(answer []byte) error {
	return p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)})
}

// WaitConnected waits for ICE and DTLS to complete.
func (p *WebRTCPeer) WaitConnected(ctx context.Context) error {
	for {
		switch p.pc.ConnectionState() {
		case webrtc.PeerConnectionStateConnected:
			return nil
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			return errors.New("peer connection failed")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("peer connection %s: %w", p.pc.ConnectionState(), ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// SendRTP sends one RTP packet on the peer's audio track.
func (p *WebRTCPeer) SendRTP(pkt *rtp.Packet) error { return p.track.WriteRTP(pkt) }

// Count is the number of RTP packets the peer received (decrypted).
func (p *WebRTCPeer) Count() uint64 { return p.count.Load() }

// Received returns the packets received.
func (p *WebRTCPeer) Received() []*rtp.Packet {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*rtp.Packet(nil), p.received...)
}

// Close stops the peer.
func (p *WebRTCPeer) Close() {
	p.pc.Close()
	p.wg.Wait()
}
