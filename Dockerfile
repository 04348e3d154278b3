# syntax=docker/dockerfile:1
#
# srtpgw container image: one static Go binary on distroless (no shell, no
# package manager, no libc), running as uid/gid 65532.
#
#   docker build --build-arg VERSION="$(git describe --tags --always)" \
#                --build-arg REVISION="$(git rev-parse HEAD)" -t srtpgw:dev .
#
# The `go build` line in the build stage is the single source of truth for the
# build flags: deploy/docker-equivalent-build.sh reads that line (and the ENV
# line above it) from this file and runs it verbatim, and deploy/deploy_test.go
# fails if the two ever differ. Keep it on ONE line.
#
# Networking (read this before `docker run`)
# ------------------------------------------
# srtpgw anchors RTP: every call takes 4 UDP ports from --port-min..--port-max
# (an RTP/RTCP pair on the phone leg, another on the upstream leg) and writes
# the address and port into the SDP it hands back to Kamailio. Peers then send
# media straight to that address:port, so the port in the SDP must be the port
# on the wire. Two ways to get that:
#
#  1. Host networking (recommended): `docker run --network host`. No NAT, no
#     docker-proxy, no per-port iptables rules; srtpgw binds the host's LAN and
#     WAN addresses itself:
#       --interface lan/10.0.0.2 --interface wan/192.0.2.10
#     (add !PUBLIC to an interface, e.g. wan/192.0.2.10!203.0.113.10, when a
#     firewall/NAT in front of the host maps a public address 1:1 onto it).
#  2. Bridge networking with a published range that is IDENTICAL on both sides
#     and equal to --port-min..--port-max, a fixed container address, and the
#     host's addresses advertised (srtpgw refuses to bind 0.0.0.0):
#       docker network create --subnet 172.30.0.0/24 srtpgw-net
#       docker run --network srtpgw-net --ip 172.30.0.2 \
#         -p 30000-30999:30000-30999/udp ... \
#         --port-min 30000 --port-max 30999 \
#         --interface lan/172.30.0.2!10.0.0.2 --interface wan/172.30.0.2!192.0.2.10
#     Never remap ports (-p 40000-40999:30000-30999 breaks every call), keep
#     the range small (Docker adds one NAT rule per port; set "userland-proxy":
#     false in daemon.json), and bind ng to the container address with
#     --ng-allow set to Kamailio's address. Both legs then share one address
#     and one port range, so capacity is about half of option 1.
#
# ng (UDP 2223) and HTTP (/metrics, /healthz, /readyz on TCP 9323) default to
# 127.0.0.1, which with --network host is the host's loopback: a Kamailio on
# the same host reaches ng, and the HEALTHCHECK below reaches /readyz.
#
# Call log and keys
# -----------------
# The call log (JSON Lines, hash-chained, Ed25519-signed checkpoints) and its
# keys live in /var/lib/srtpgw (SRTPGW_AUDIT_LOG below): audit.jsonl, rotated
# audit.jsonl.<seq>, the signing key audit.key (0600; srtpgw refuses looser
# modes) and the public key audit.key.pub. Mount persistent storage there, owned
# by 65532 (docker named volumes inherit the image's ownership; for a bind mount:
# `install -d -o 65532 -g 65532 -m 0700 /srv/srtpgw`):
#   docker run --network host --stop-timeout 20 \
#     -v srtpgw-calllog:/var/lib/srtpgw srtpgw:dev --interface ...
# Losing audit.key ends the ability to continue the chain (srtpgw refuses a
# different key for an existing log); back it up like any other secret, and
# keep a copy of audit.key.pub OFF this host for `srtpgw audit verify`.
# SIGTERM ends every call cleanly within 15 s: give `docker stop` at least 20 s
# (--stop-timeout 20, compose stop_grace_period: 20s); the default 10 s can kill
# srtpgw before the call log is signed and closed.

ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
# Set by BuildKit for the platform being built (docker buildx --platform
# linux/arm64 cross-compiles on the build host); empty means native.
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static (no cgo), reproducible paths, stripped, version stamped. -buildvcs=false
# because .git is not in the build context (.dockerignore); the revision is an
# image label instead.
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
RUN GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/srtpgw ./cmd/srtpgw
# The state directory, created here because the runtime image has no shell.
# It is copied as an entry of its parent below, so --chown applies to the
# directory itself (a COPY's destination directory keeps root ownership).
RUN mkdir -p /out/var-lib && mkdir -m 0700 /out/var-lib/srtpgw

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE=https://github.com/srtpgw/srtpgw
# SPDX identifier; the repository has no licence file yet, so say so.
ARG LICENSES=NOASSERTION
LABEL org.opencontainers.image.title="srtpgw" \
      org.opencontainers.image.description="SRTP media relay and encryption gateway: plain RTP from clinic desk phones in, DTLS-SRTP upstream out, driven by Kamailio's rtpengine module (ng protocol)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="${LICENSES}"
COPY --from=build /out/srtpgw /srtpgw
COPY --from=build --chown=65532:65532 /out/var-lib/ /var/lib/
# Without this a non-root srtpgw would put the call log under $HOME.
ENV SRTPGW_AUDIT_LOG=/var/lib/srtpgw/audit.jsonl
USER 65532:65532
VOLUME ["/var/lib/srtpgw"]
STOPSIGNAL SIGTERM
# Exec form: distroless has no shell and no curl. `srtpgw healthcheck` GETs
# http://127.0.0.1:9323/readyz (and sends the bearer token from
# SRTPGW_HTTP_TOKEN_FILE when that is set), exit 0 only on 200.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 CMD ["/srtpgw", "healthcheck"]
ENTRYPOINT ["/srtpgw"]
