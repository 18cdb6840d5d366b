#!/usr/bin/env bash
# The cost of the UDP answer budget (handle.udp_answer_kib_per_source) on the hot path: one build serves the data
# set of a previous `benches/reference.sh` with the budget off, then on with no exempt network and a budget too
# large to bite (so that every answer goes through the table), alternately; `idnode-bench run --proto handle-udp`
# loads it from another CPU after a warm-up. Prints each pair's on/off ratio (BENCHMARKS.md).
#
#   benches/udp_budget.sh [BINARY] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/root/.cache/idnode/target}"
BIN=${1:-$CARGO_TARGET_DIR/release/idnode} ROUNDS=${2:-3}
GENERATOR=${GENERATOR:-$(dirname "$BIN")/idnode-bench}
WORK=${WORK:-/tmp/idnode-bench} COUNT=${COUNT:-1000000} SERVER_CPU=${SERVER_CPU:-0} GEN_CPU=${GEN_CPU:-1}
data=$WORK/data-$COUNT
[[ -f $data/.loaded ]] || { echo "udp_budget: run benches/reference.sh first (it loads $data)" >&2; exit 1; }
[[ $# -ge 1 ]] || cargo build --release --bin idnode --bin idnode-bench
config() { # name, extra [handle] lines
    cat >"$WORK/udp-$1.toml" <<TOML
[storage]
path = "$data"
durability = "buffered"
block_cache_mb = 256
[http]
listen = "127.0.0.1:18000"
[grpc]
listen = "127.0.0.1:18051"
[admin]
listen = "127.0.0.1:18180"
[handle]
listen_udp = "127.0.0.1:18641"
listen_tcp = "127.0.0.1:18641"
max_in_flight = 100000
$2
TOML
}
config off "udp_answer_kib_per_source = 0"
config on "udp_answer_kib_per_source = 1000000000
udp_unlimited_sources = []"
node=""
trap '[[ -n $node ]] && kill "$node" 2>/dev/null' EXIT
rate() { # config -> req/s of a measured run after a warm-up
    taskset -c "$SERVER_CPU" "$BIN" serve -c "$WORK/udp-$1.toml" >"$WORK/udp-$1.log" 2>&1 &
    node=$!
    for _ in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:18180/readyz && break; sleep 0.2; done
    if ! kill -0 "$node" 2>/dev/null || ! curl -sf -o /dev/null http://127.0.0.1:18180/readyz; then
        echo "udp_budget: the node did not start (see $WORK/udp-$1.log)" >&2
        return 1
    fi
    local gen=(taskset -c "$GEN_CPU" "$GENERATOR" run --proto handle-udp --target 127.0.0.1:18641 -c 64 --count "$COUNT")
    "${gen[@]}" -d 5 >/dev/null
    local r
    r=$("${gen[@]}" -d 8 | awk '{for (i = 1; i < NF; i++) if ($(i + 1) == "req/s") print $i}')
    kill "$node" && wait "$node" || true
    node=""
    [[ $r =~ ^[0-9]+$ ]] || { echo "udp_budget: no figure from idnode-bench" >&2; return 1; }
    echo "$r"
}
for round in $(seq "$ROUNDS"); do
    # alternate which one goes first
    # (a failed run inside $(…) does not stop the script by itself: `|| exit 1` does)
    if ((round % 2)); then
        off=$(rate off) || exit 1
        on=$(rate on) || exit 1
    else
        on=$(rate on) || exit 1
        off=$(rate off) || exit 1
    fi
    echo "round $round: off $off req/s, on $on req/s, on/off $(python3 -c "print(round($on / $off, 3))")"
done
