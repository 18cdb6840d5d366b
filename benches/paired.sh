#!/usr/bin/env bash
# Two builds of idnode judged against each other in one measurement (BENCHMARKS.md, steps 21 and 22): both serve
# HTTP/2 over TLS at once, pinned to the same CPU, each loaded by its own h2load (4 connections × 16 streams) on
# the other CPU, so the machine's noise hits both alike; the ratio of their throughputs is the verdict (an
# A-against-A pair reads 1.00-1.02). Uses the data set, certificate and sample of a previous
# `benches/reference.sh` in $WORK.
#
#   benches/paired.sh OLD_BINARY NEW_BINARY [ROUNDS]
set -euo pipefail
A=$1 B=$2 ROUNDS=${3:-3}
WORK=${WORK:-/tmp/idnode-bench} COUNT=${COUNT:-1000000} SERVER_CPU=${SERVER_CPU:-0} GEN_CPU=${GEN_CPU:-1}
data=$WORK/data-$COUNT
[[ -f $data/.loaded && -f $WORK/cert.pem && -f $WORK/urls-idnode.txt ]] || {
    echo "paired: run benches/reference.sh first (it leaves the data set, certificate and sample in $WORK)" >&2
    exit 1
}
# The second node opens a copy of the store: its SST files are immutable, so hard links will do.
copy=$WORK/paired-copy
rm -rf "$copy" && mkdir -p "$copy"
for f in "$data"/*; do
    if [[ $f == *.sst ]]; then ln "$f" "$copy/"; else cp -r "$f" "$copy/"; fi
done
config() { # name data-dir port-offset
    cat >"$WORK/paired-$1.toml" <<EOF
[storage]
path = "$2"
durability = "buffered"
block_cache_mb = 256
[http]
listen = "127.0.0.1:$((18443 + $3))"
max_concurrent_requests = 100000
tls_cert = "$WORK/cert.pem"
tls_key = "$WORK/key.pem"
[grpc]
listen = "127.0.0.1:$((18051 + $3))"
[handle]
listen_udp = "127.0.0.1:$((18641 + $3))"
listen_tcp = "127.0.0.1:$((18641 + $3))"
[admin]
listen = "127.0.0.1:$((18180 + $3))"
EOF
    sed -E "s#https://127.0.0.1:[0-9]+/#https://127.0.0.1:$((18443 + $3))/#" "$WORK/urls-idnode.txt" >"$WORK/paired-$1.urls"
}
config a "$data" 0
config b "$copy" 10
taskset -c "$SERVER_CPU" "$A" serve --config "$WORK/paired-a.toml" >"$WORK/paired-a.log" 2>&1 &
pa=$!
taskset -c "$SERVER_CPU" "$B" serve --config "$WORK/paired-b.toml" >"$WORK/paired-b.log" 2>&1 &
pb=$!
trap 'kill $pa $pb 2>/dev/null; wait $pa $pb 2>/dev/null' EXIT
sleep 3
load() { taskset -c "$GEN_CPU" h2load -c 4 -m 16 "$@"; }
for s in a b; do load -n 100000 -i "$WORK/paired-$s.urls" >/dev/null; done # fill the record caches
rps() { grep -oP 'finished in [\d.]+m?s, \K[\d.]+' "$1"; }
for r in $(seq "$ROUNDS"); do
    load -D 8 --warm-up-time 1 -i "$WORK/paired-a.urls" >"$WORK/paired-a.out" 2>&1 &
    ga=$!
    load -D 8 --warm-up-time 1 -i "$WORK/paired-b.urls" >"$WORK/paired-b.out" 2>&1 &
    gb=$!
    wait $ga $gb
    a=$(rps "$WORK/paired-a.out") b=$(rps "$WORK/paired-b.out")
    echo "round $r: $(basename "$A") $a req/s, $(basename "$B") $b req/s, new/old $(python3 -c "print(round($b / $a, 3))")"
done
