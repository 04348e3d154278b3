#!/usr/bin/python3
"""WebRTC answerer for the srtpgw interop harness, built on aiortc 1.4.

Reads the relay's offer SDP (--offer FILE, or stdin), answers with an audio
track that plays a sine tone (--send-hz), prints the complete answer SDP
(and writes it to --answer FILE), then listens for --seconds once ICE and
DTLS are up and prints JSON stats (and writes them to --result FILE):
packets received, the dominant frequency, how much of the time --expect-hz
dominated, the level in dBFS, ICE/DTLS timings, DTLS role and SRTP profile.

Run it with Debian's interpreter (/usr/bin/python3, package python3-aiortc),
not a pyenv one. Only the standard library besides aiortc/av/OpenSSL.
"""

import argparse
import array
import asyncio
import fractions
import json
import logging
import math
import os
import sys
import time

import aioice.ice
import av
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

RATE = 8000  # PCMU clock rate, RFC 3551 section 4.5.14
PTIME = 0.020
AMPLITUDE = 10000  # about -10 dBFS peak, -13 dBFS RMS


class ToneTrack(MediaStreamTrack):
    """An audio source producing 20 ms frames of a sine tone in real time."""

    kind = "audio"

    def __init__(self, hz):
        super().__init__()
        self.hz = hz
        self.n = 0
        self.start = None

    async def recv(self):
        samples = int(RATE * PTIME)
        if self.start is None:
            self.start = time.monotonic()
        else:
            wait = self.start + self.n / RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        data = array.array(
            "h",
            (int(AMPLITUDE * math.sin(2 * math.pi * self.hz * (self.n + i) / RATE)) for i in range(samples)),
        )
        frame = av.AudioFrame(format="s16", layout="mono", samples=samples)
        frame.planes[0].update(data.tobytes())
        frame.sample_rate = RATE
        frame.pts = self.n
        frame.time_base = fractions.Fraction(1, RATE)
        self.n += samples
        return frame


def goertzel(samples, hz, rate):
    """Amplitude of hz in samples; a full-length sine of amplitude A gives A/2."""
    k = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in samples:
        s0 = x + k * s1 - s2
        s2, s1 = s1, s0
    p = s1 * s1 + s2 * s2 - k * s1 * s2
    return math.sqrt(max(p, 0.0)) / max(len(samples), 1)


def rms(samples):
    return math.sqrt(sum(x * x for x in samples) / len(samples)) if samples else 0.0


def analyse(samples, rate, expect_hz, other_hz):
    """Tone statistics over 100 ms windows and the dominant frequency."""
    out = {"toneFraction": 0.0, "dominantHz": 0.0, "rmsDbfs": -120.0}
    if not samples:
        return out
    win = rate // 10
    windows = hits = 0
    for off in range(0, len(samples) - win + 1, win):
        w = samples[off : off + win]
        windows += 1
        level = rms(w)
        e, o = goertzel(w, expect_hz, rate), goertzel(w, other_hz, rate)
        # A pure tone of amplitude A has Goertzel A/2 and RMS A/sqrt(2):
        # the ratio is 0.71 when the tone carries all the energy.
        if level > 300 and e / level > 0.5 and e > 10 * o:
            hits += 1
    out["toneFraction"] = hits / windows if windows else 0.0
    total = rms(samples)
    out["rmsDbfs"] = 20 * math.log10(total / 32768) if total > 0 else -120.0
    # Dominant frequency over the last 0.5 s: a 20 Hz grid, then 2 Hz.
    tail = samples[-rate // 2 :]
    best = max(range(100, 3900, 20), key=lambda f: goertzel(tail, f, rate))
    out["dominantHz"] = float(max(range(best - 20, best + 21, 2), key=lambda f: goertzel(tail, f, rate)))
    return out


def selected_pair(pc):
    try:
        conn = pc.getTransceivers()[0].receiver.transport.transport._connection
        pair = conn._nominated.get(1)
        lc, rc = pair.protocol.local_candidate, pair.remote_candidate
        return f"{lc.host}:{lc.port} {lc.type}", f"{rc.host}:{rc.port} {rc.type}"
    except Exception as exc:  # private API of aioice 0.8: report, do not fail
        return f"unknown ({exc})", "unknown"


def dtls_details(pc):
    """DTLS role, TLS version, cipher suite and negotiated SRTP profile."""
    d = {}
    try:
        dtls = pc.getTransceivers()[0].receiver.transport
        d["dtlsRole"] = dtls._role
        d["dtlsState"] = dtls.state
        d["tlsVersion"] = dtls.ssl.get_protocol_version_name()
        d["dtlsCipher"] = dtls.ssl.get_cipher_name()
        from OpenSSL import SSL

        prof = SSL._lib.SSL_get_selected_srtp_profile(dtls.ssl._ssl)
        if prof != SSL._ffi.NULL:
            d["srtpCipher"] = SSL._ffi.string(prof.name).decode()
    except Exception as exc:
        d.setdefault("errors", []).append(f"DTLS details unavailable: {exc}")
    return d


async def run(args, offer):
    # aioice gathers host candidates from the interfaces' addresses and
    # skips 127.0.0.1; on a loopback-only machine that leaves none. The
    # harness gives the peer its own loopback address instead.
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [args.ip]

    report = {"peer": f"aiortc {__import__('aiortc').__version__}", "expectHz": args.expect_hz, "errors": []}
    pc = RTCPeerConnection()
    t0 = time.monotonic()
    ice_up = asyncio.get_running_loop().create_future()
    dtls_up = asyncio.get_running_loop().create_future()
    samples = array.array("h")
    listening = {"on": False}
    counts = {"framesReceived": 0, "framesInWindow": 0}
    tasks = []  # the loop keeps only weak references to tasks

    @pc.on("iceconnectionstatechange")
    def on_ice():
        logging.info("ICE connection state %s", pc.iceConnectionState)
        if pc.iceConnectionState in ("completed", "connected") and not ice_up.done():
            report["iceConnectedMs"] = round((time.monotonic() - t0) * 1000, 1)
            ice_up.set_result(True)
        if pc.iceConnectionState == "failed" and not ice_up.done():
            ice_up.set_exception(RuntimeError("ICE failed"))

    @pc.on("connectionstatechange")
    def on_conn():
        logging.info("connection state %s", pc.connectionState)
        if pc.connectionState == "connected" and not dtls_up.done():
            report["dtlsConnectedMs"] = round((time.monotonic() - t0) * 1000, 1)
            dtls_up.set_result(True)
        if pc.connectionState == "failed" and not dtls_up.done():
            dtls_up.set_exception(RuntimeError("connection (ICE or DTLS) failed"))

    async def record(track):
        try:
            while True:
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    logging.info("remote track ended after %d frames", counts["framesReceived"])
                    return
                counts["framesReceived"] += 1
                if counts["framesReceived"] == 1:
                    report["firstFrameMs"] = round((time.monotonic() - t0) * 1000, 1)
                if not listening["on"]:
                    continue
                counts["framesInWindow"] += 1
                raw = bytes(frame.planes[0])[: frame.samples * 2]
                chunk = array.array("h")
                chunk.frombytes(raw)
                if frame.sample_rate != RATE:
                    report["errors"].append(f"decoded at {frame.sample_rate} Hz, want {RATE}")
                samples.extend(chunk)
        except Exception as exc:
            logging.exception("recording failed")
            report["errors"].append(f"recording failed: {exc!r}")

    @pc.on("track")
    def on_track(track):
        logging.info("remote %s track", track.kind)
        if track.kind == "audio":
            tasks.append(asyncio.ensure_future(record(track)))

    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
    pc.addTrack(ToneTrack(args.send_hz))
    await pc.setLocalDescription(await pc.createAnswer())  # gathers every candidate
    answer = pc.localDescription.sdp
    if args.answer:
        tmp = args.answer + ".tmp"
        with open(tmp, "w") as f:
            f.write(answer)
        os.rename(tmp, args.answer)
    print("--- answer ---\n" + answer.strip() + "\n--- end answer ---", flush=True)

    try:
        await asyncio.wait_for(ice_up, args.connect_timeout)
        await asyncio.wait_for(dtls_up, args.connect_timeout)
    except Exception as exc:
        report["errors"].append(f"not connected after {args.connect_timeout} s: {exc!r} (ICE {pc.iceConnectionState}, connection {pc.connectionState})")
    else:
        listening["on"] = True
        started = time.monotonic()
        await asyncio.sleep(args.seconds)
        listening["on"] = False
        report["seconds"] = round(time.monotonic() - started, 2)
        logging.info("listened %.2f s: %d frames in the window, %d in all", report["seconds"], counts["framesInWindow"], counts["framesReceived"])

    stats = await pc.getStats()
    for s in stats.values():
        if s.type == "inbound-rtp":
            report["packetsReceived"] = report.get("packetsReceived", 0) + s.packetsReceived
        elif s.type == "outbound-rtp":
            report["packetsSent"] = report.get("packetsSent", 0) + s.packetsSent
            report["bytesSent"] = report.get("bytesSent", 0) + s.bytesSent
        elif s.type == "transport":
            report["iceRole"] = s.iceRole
            report["bytesReceived"] = s.bytesReceived
    try:
        codecs = pc.getTransceivers()[0].receiver._RTCRtpReceiver__codecs
        report["codec"] = ", ".join(f"{c.mimeType}/{c.clockRate} pt {pt}" for pt, c in codecs.items())
    except Exception:
        pass
    details = dtls_details(pc)
    report["errors"] += details.pop("errors", [])
    report.update(details)
    report["localCandidate"], report["remoteCandidate"] = selected_pair(pc)
    report.update(counts)
    report.update(analyse(list(samples), RATE, args.expect_hz, args.send_hz))
    await pc.close()
    return report


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--offer", help="offer SDP file (default: stdin)")
    ap.add_argument("--answer", help="also write the answer SDP here (atomically)")
    ap.add_argument("--result", help="also write the JSON stats here (atomically)")
    ap.add_argument("--ip", default="127.0.0.20", help="the peer's host candidate address")
    ap.add_argument("--send-hz", type=float, default=440.0)
    ap.add_argument("--expect-hz", type=float, default=1000.0)
    ap.add_argument("--seconds", type=float, default=5.0, help="how long to listen once connected")
    ap.add_argument("--connect-timeout", type=float, default=15.0)
    ap.add_argument("--timeout", type=float, default=45.0, help="hard limit for the whole run")
    ap.add_argument("--debug", action="store_true", help="aiortc/aioice debug logging (per packet)")
    args = ap.parse_args()
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    offer = open(args.offer).read() if args.offer else sys.stdin.read()
    try:
        report = asyncio.run(asyncio.wait_for(run(args, offer), args.timeout))
    except Exception as exc:
        logging.exception("peer failed")
        report = {"peer": "aiortc", "errors": [f"peer failed: {exc!r}"]}
    out = json.dumps(report, indent=2, sort_keys=True)
    if args.result:
        tmp = args.result + ".tmp"
        with open(tmp, "w") as f:
            f.write(out)
        os.rename(tmp, args.result)
    print(out, flush=True)
    return 0 if not report.get("errors") else 1


if __name__ == "__main__":
    sys.exit(main())
