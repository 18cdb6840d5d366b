#!/usr/bin/env bash
# Two builds of idnode judged against each other in one measurement: both serve at once, pinned to the same CPU,
# each loaded by its own generator on the other CPU, so the machine's noise hits both alike; the ratio of their
# throughputs is the verdict (an A-against-A pair reads 1.00-1.02). Per protocol:
#   http2-tls   REST over HTTP/2 and TLS, h2load (4 connections x 16 streams) over a sample of 10,000 records
#   http1       REST over HTTP/1.1 keep-alive, `idnode-bench run` (64 connections, Zipf keys)
#   grpc-unary  gRPC Resolve, `idnode-bench run` (64 in flight on one channel)
#   handle-udp  the Handle protocol over UDP, `idnode-bench run` (64 sockets)
# The generator is the `idnode-bench` built beside NEW_BINARY (or $GENERATOR), the same for both. The data set
# (COUNT identifiers) and a certificate are made in $WORK on first use.
#
#   benches/paired.sh OLD_BINARY NEW_BINARY [ROUNDS] [PROTOCOL...]    # default: 3 rounds of all four
set -euo pipefail
A=$1 B=$2 ROUNDS=${3:-3}
GENERATOR=${GENERATOR:-$(dirname "$B")/idnode-bench}
shift $(($# < 3 ? $# : 3))
PROTOS=("$@")
((${#PROTOS[@]})) || PROTOS=(http1 http2-tls grpc-unary handle-udp)
WORK=${WORK:-/tmp/idnode-bench} COUNT=${COUNT:-1000000} ENTS=${ENTERPRISES:-2000}
SERVER_CPU=${SERVER_CPU:-0} GEN_CPU=${GEN_CPU:-1} SECS=${SECS:-8}
for tool in h2load openssl taskset; do
    command -v $tool >/dev/null || { echo "paired: needs $tool (nghttp2-client, openssl, util-linux)" >&2; exit 1; }
done
mkdir -p "$WORK"
data=$WORK/data-$COUNT
if [[ ! -f $data/.loaded ]]; then
    rm -rf "$data"
    "$GENERATOR" load-dataset --data-dir "$data" --count "$COUNT" --enterprises "$ENTS" >"$data.log"
    cp "$data.log" "$data/.loaded"
fi
[[ -f $WORK/cert.pem ]] || openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=127.0.0.1 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
# Each node opens its own copy of the store: its SST files are immutable, so hard links will do.
copy() {
    local dir=$WORK/paired-$1
    rm -rf "$dir" && mkdir -p "$dir"
    for f in "$data"/*; do
        if [[ $f == *.sst ]]; then ln "$f" "$dir/"; else cp -r "$f" "$dir/"; fi
    done
    echo "$dir"
}
config() { # name data-dir port-offset
    cat >"$WORK/paired-$1.toml" <<EOF
[storage]
path = "$2"
durability = "buffered"
block_cache_mb = 256
[http]
listen = "127.0.0.1:$((18000 + $3))"
max_concurrent_requests = 100000
[grpc]
listen = "127.0.0.1:$((18051 + $3))"
[handle]
listen_udp = "127.0.0.1:$((18641 + $3))"
listen_tcp = "127.0.0.1:$((18641 + $3))"
[admin]
listen = "127.0.0.1:$((18180 + $3))"
EOF
    # the same listeners over TLS, for HTTP/2
    sed -e "s#^path = .*#path = \"$(copy "$1-tls")\"#" \
        -e "s#^listen = \"127.0.0.1:$((18000 + $3))\"#listen = \"127.0.0.1:$((18443 + $3))\"\ntls_cert = \"$WORK/cert.pem\"\ntls_key = \"$WORK/key.pem\"#" \
        -e "s#$((18051 + $3))#$((18052 + $3))#; s#$((18641 + $3))#$((18642 + $3))#g; s#$((18180 + $3))#$((18181 + $3))#" \
        "$WORK/paired-$1.toml" >"$WORK/paired-$1-tls.toml"
    python3 - "$ENTS" "$((18443 + $3))" >"$WORK/paired-$1.urls" <<'PY'
import sys
ents, port = int(sys.argv[1]), sys.argv[2]
for i in range(10_000):
    s = i // ents
    print(f"https://127.0.0.1:{port}/api/handles/88.798.{1 + i % ents}/JDZ-{2020 + s % 6}-{s:08d}")
PY
}
config a "$(copy a)" 0
config b "$(copy b)" 10
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null' EXIT
for s in a b; do
    bin=$A; [[ $s == b ]] && bin=$B
    for c in "$s" "$s-tls"; do
        taskset -c "$SERVER_CPU" "$bin" serve --config "$WORK/paired-$c.toml" >"$WORK/paired-$c.log" 2>&1 &
        pids+=($!)
    done
done
for port in 18000 18010 18443 18453; do
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
done
gen() { taskset -c "$GEN_CPU" "$@"; }
# The load of one side for `proto`, writing its throughput (requests per second) to stdout.
side() { # proto side duration
    local off=0; [[ $2 == b ]] && off=10
    case $1 in
        http2-tls)
            gen h2load -c 4 -m 16 -D "$3" --warm-up-time 1 -i "$WORK/paired-$2.urls" 2>&1 |
                grep -oP 'finished in [\d.]+m?s, \K[\d.]+' ;;
        *)
            local port
            case $1 in http1) port=$((18000 + off)) ;; grpc-unary) port=$((18051 + off)) ;; handle-udp) port=$((18641 + off)) ;; esac
            gen "$GENERATOR" run --proto "$1" --target "127.0.0.1:$port" -c 64 -d "$3" --warmup 1 --count "$COUNT" \
                --enterprises "$ENTS" --zipf 0.99 --json | tail -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["throughput"])' ;;
    esac
}
for proto in "${PROTOS[@]}"; do
    for s in a b; do side "$proto" "$s" 3 >/dev/null; done # fill the record caches
    for r in $(seq "$ROUNDS"); do
        side "$proto" a "$SECS" >"$WORK/paired-a.rps" &
        ga=$!
        side "$proto" b "$SECS" >"$WORK/paired-b.rps" &
        gb=$!
        wait $ga $gb
        a=$(<"$WORK/paired-a.rps") b=$(<"$WORK/paired-b.rps")
        echo "$proto round $r: old $a/s, new $b/s, new/old $(python3 -c "print(round($b / $a, 3))")"
    done
done
