#!/usr/bin/env bash
# idnode against reference servers, in one run on one machine (see BENCHMARKS.md): nginx (static JSON, HTTP/1.1
# and HTTP/2 over TLS), redis-server (GET of the same bytes), etcd (serializable gRPC Range) and NSD (UDP
# answers of the same size). Installs what it needs from Debian's packages, builds idnode in release, loads the
# data set, pins every server to CPU $SERVER_CPU and every generator to CPU $GEN_CPU, and writes one JSON line
# per run to $WORK/results.jsonl and the table of ratios to $WORK/summary.md.
#
#   benches/reference.sh                      # 1M identifiers, 10 s per run, 64 in flight
#   COUNT=10000000 BLOCK_CACHE_MB=100 benches/reference.sh   # 10M identifiers, block cache ~1/10 of the data
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/root/.cache/idnode/target}"

need=()
for pair in nginx:nginx redis-server:redis-server redis-benchmark:redis-tools etcd:etcd-server nsd:nsd \
    dnsperf:dnsperf wrk:wrk h2load:nghttp2-client openssl:openssl taskset:util-linux; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if ((${#need[@]})); then
    echo "reference: installing ${need[*]}" >&2
    sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian starts the packaged services; the benchmark runs its own instances on other ports.
for svc in nginx redis-server etcd nsd; do
    (command -v systemctl >/dev/null && systemctl stop "$svc" 2>/dev/null) || service "$svc" stop 2>/dev/null || true
done

cargo build --release --bin idnode --bin idnode-bench
exec python3 benches/reference.py "$CARGO_TARGET_DIR/release/idnode"
