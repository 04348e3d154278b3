// Package interop holds the helpers shared by the real-peer interop
// harnesses in deploy/kamailio (Kamailio + baresip) and deploy/webrtc
// (Chromium + aiortc): starting the relay under test, running external
// programs in their own process groups, a small ng client and bencode codec,
// and G.711 µ-law tone generation and analysis.
//
// It is test infrastructure, not part of srtpgw: relay/ng owns the real ng
// codec. The helpers take a testing.TB where a failure should end the test,
// and return errors where they may run on a thread that has entered another
// network namespace (a t.Fatal there would skip the switch back).
package interop
