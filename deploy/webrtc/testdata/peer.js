// WebRTC answerer for the srtpgw interop harness (test only).
// GET /offer -> the relay's offer; POST /answer <- the complete answer (all
// candidates, no trickle); POST /result <- JSON with the same field names
// as aiortc_peer.py. Query: ?send=440&expect=1000&ms=5000.
'use strict';

const q = new URLSearchParams(location.search);
const sendHz = Number(q.get('send') || 440);
const expectHz = Number(q.get('expect') || 1000);
const listenMs = Number(q.get('ms') || 5000);
const report = { peer: navigator.userAgent, expectHz, errors: [] };
const t0 = performance.now();

function log(msg) {
  const line = `${((performance.now() - t0) / 1000).toFixed(3)} ${msg}`;
  console.log(line);
  document.getElementById('log').textContent += line + '\n';
}

function show(id, text) {
  document.getElementById(id).textContent = text;
}

function withTimeout(promise, ms, what) {
  return Promise.race([promise, new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms))]);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// The page's "microphone": an OscillatorNode into a MediaStream.
function toneTrack(ac) {
  const osc = ac.createOscillator();
  osc.frequency.value = sendHz;
  const gain = ac.createGain();
  gain.gain.value = 0.3; // about -13 dBFS RMS, like the phone's tone
  const dest = ac.createMediaStreamDestination();
  osc.connect(gain).connect(dest);
  osc.start();
  return dest.stream;
}

// Listen to the remote track for listenMs: every 100 ms the peak of the
// spectrum between 100 and 3900 Hz and the RMS of the waveform.
async function listen(ac, track) {
  const stream = new MediaStream([track]);
  // Chromium feeds remote WebRTC audio into WebAudio only while a media
  // element plays the stream (crbug.com/933677); muted is enough.
  const el = new Audio();
  el.muted = true;
  el.srcObject = stream;
  await el.play().catch((e) => log(`audio element: ${e}`));
  const an = ac.createAnalyser();
  an.fftSize = 4096;
  an.smoothingTimeConstant = 0;
  ac.createMediaStreamSource(stream).connect(an);
  const freq = new Float32Array(an.frequencyBinCount);
  const wave = new Float32Array(an.fftSize);
  const binHz = ac.sampleRate / an.fftSize;
  const peaks = [];
  let hits = 0, windows = 0, sumSq = 0;
  const end = performance.now() + listenMs;
  while (performance.now() < end) {
    await sleep(100);
    an.getFloatFrequencyData(freq);
    an.getFloatTimeDomainData(wave);
    let e = 0;
    for (const x of wave) e += x * x;
    const rms = Math.sqrt(e / wave.length);
    let best = -1;
    for (let i = Math.ceil(100 / binHz); i < Math.floor(3900 / binHz); i++) {
      if (best < 0 || freq[i] > freq[best]) best = i;
    }
    const peak = best * binHz;
    windows++;
    sumSq += rms * rms;
    peaks.push(peak);
    if (rms > 0.01 && Math.abs(peak - expectHz) <= 2 * binHz) hits++;
  }
  el.pause();
  peaks.sort((a, b) => a - b);
  report.dominantHz = peaks.length ? Math.round(peaks[peaks.length >> 1]) : 0;
  report.toneFraction = windows ? hits / windows : 0;
  const meanRms = Math.sqrt(sumSq / Math.max(windows, 1));
  report.rmsDbfs = meanRms > 0 ? 20 * Math.log10(meanRms) : -120;
  report.seconds = listenMs / 1000;
  report.analyserBinHz = binHz;
}

async function collectStats(pc) {
  const stats = await pc.getStats();
  const byId = new Map();
  stats.forEach((s) => byId.set(s.id, s));
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      report.packetsReceived = s.packetsReceived;
      report.bytesReceived = s.bytesReceived;
      report.packetsLost = s.packetsLost;
      report.concealedSamples = s.concealedSamples;
      report.totalSamplesReceived = s.totalSamplesReceived;
      const c = byId.get(s.codecId);
      if (c) report.codec = `${c.mimeType}/${c.clockRate} pt ${c.payloadType}`;
    } else if (s.type === 'outbound-rtp' && s.kind === 'audio') {
      report.packetsSent = s.packetsSent;
    } else if (s.type === 'transport') {
      report.iceRole = s.iceRole;
      report.dtlsRole = s.dtlsRole;
      report.dtlsState = s.dtlsState;
      // getStats gives the record-layer version in hex: FEFD is DTLS 1.2.
      report.tlsVersion = s.tlsVersion === 'FEFD' ? 'DTLSv1.2 (FEFD)' : s.tlsVersion;
      report.dtlsCipher = s.dtlsCipher;
      report.srtpCipher = s.srtpCipher;
      const pair = byId.get(s.selectedCandidatePairId);
      if (pair) {
        const l = byId.get(pair.localCandidateId), r = byId.get(pair.remoteCandidateId);
        if (l) report.localCandidate = `${l.address}:${l.port} ${l.candidateType}`;
        if (r) report.remoteCandidate = `${r.address}:${r.port} ${r.candidateType}`;
      }
    }
  });
}

function render(ok) {
  show('sendHz', `${sendHz} Hz`);
  show('expectHz', `${expectHz} Hz`);
  show('iceConnectedMs', `${report.iceConnectedMs ?? '-'} ms`);
  show('dtlsConnectedMs', `${report.dtlsConnectedMs ?? '-'} ms`);
  show('roles', `${report.iceRole ?? '-'} / ${report.dtlsRole ?? '-'}`);
  show('ciphers', `${report.tlsVersion ?? '-'} / ${report.dtlsCipher ?? '-'} / ${report.srtpCipher ?? '-'}`);
  show('pair', `${report.localCandidate ?? '-'} \u2192 ${report.remoteCandidate ?? '-'}`);
  show('codec', report.codec ?? '-');
  show('packets', `${report.packetsReceived ?? '-'} / ${report.packetsSent ?? '-'}`);
  show('dominantHz', `${report.dominantHz ?? '-'} Hz`);
  show('toneFraction', `${Math.round(100 * (report.toneFraction ?? 0))} %`);
  show('rmsDbfs', `${(report.rmsDbfs ?? -120).toFixed(1)} dBFS`);
  const v = document.getElementById('verdict');
  v.textContent = ok ? 'done: audio received' : `failed: ${report.errors.join('; ')}`;
  v.className = ok ? 'ok' : 'bad';
}

async function main() {
  const offer = await (await fetch('/offer')).text();
  const ac = new AudioContext();
  await ac.resume(); // --autoplay-policy=no-user-gesture-required
  log(`AudioContext ${ac.state} at ${ac.sampleRate} Hz`);
  const pc = new RTCPeerConnection(); // no STUN/TURN servers: host candidates only
  window.pc = pc;
  let remote = null;
  let tSRD = performance.now();
  const connected = new Promise((resolve, reject) => {
    pc.oniceconnectionstatechange = () => {
      log(`iceConnectionState ${pc.iceConnectionState}`);
      const s = pc.iceConnectionState;
      if ((s === 'connected' || s === 'completed') && report.iceConnectedMs === undefined) {
        report.iceConnectedMs = Math.round(performance.now() - tSRD);
      }
    };
    pc.onconnectionstatechange = () => {
      log(`connectionState ${pc.connectionState}`);
      if (pc.connectionState === 'connected') {
        report.dtlsConnectedMs = Math.round(performance.now() - tSRD);
        resolve();
      }
      if (pc.connectionState === 'failed') reject(new Error('connectionState failed (ICE or DTLS)'));
    };
  });
  pc.onicecandidate = (e) => log(`local candidate ${e.candidate ? e.candidate.candidate : '(end)'}`);
  pc.ontrack = (e) => { remote = e.track; log(`remote ${e.track.kind} track`); };
  tSRD = performance.now();
  await pc.setRemoteDescription({ type: 'offer', sdp: offer });
  const mic = toneTrack(ac);
  pc.addTrack(mic.getAudioTracks()[0], mic);
  await pc.setLocalDescription(await pc.createAnswer());
  if (pc.iceGatheringState !== 'complete') {
    await withTimeout(new Promise((resolve) => {
      pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
    }), 10000, 'ICE gathering');
  }
  log(`answer ready after ${Math.round(performance.now() - tSRD)} ms`);
  await fetch('/answer', { method: 'POST', body: pc.localDescription.sdp });
  await withTimeout(connected, 15000, 'ICE+DTLS');
  const dtls = pc.getTransceivers()[0].sender.transport;
  log(`DTLS transport ${dtls ? dtls.state : '?'}`);
  if (!remote) throw new Error('no remote track');
  await listen(ac, remote);
}

main()
  .catch((e) => { report.errors.push(String(e)); log(`error: ${e}`); })
  .finally(async () => {
    // Stats also after a failure: they show how far ICE and DTLS got.
    if (window.pc) {
      await collectStats(window.pc).catch((e) => report.errors.push(`getStats: ${e}`));
      window.pc.close();
    }
    render(report.errors.length === 0);
    await fetch('/result', { method: 'POST', body: JSON.stringify(report) });
  });
