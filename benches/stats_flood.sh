#!/usr/bin/env bash
# The public statistics report under abuse. For each idnode binary given: resolution throughput (wrk, 32
# connections, a cached record) alone, then while 16 more connections ask for a year's report over and over; a
# year of statistics for 2,000 prefixes is written first (examples/stats_history.rs). Prints one line per binary
# with the time of a year's report alone (of every prefix, and of one), the ratio of the two throughputs (the
# machine's noise cancels in it), the p99s, and how many reports were answered and how many refused. Server and
# generators share the machine's cores, as an attacker's requests would.
#
#   benches/stats_flood.sh                          # the release build of this checkout
#   benches/stats_flood.sh /tmp/idnode-old /tmp/idnode-new
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/root/.cache/idnode/target}"
command -v wrk >/dev/null 2>&1 || {
    sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends wrk >/dev/null
}
scripts/prereqs.sh
cargo build --release --bin idnode --example stats_history
bins=("$@")
((${#bins[@]})) || bins=("$CARGO_TARGET_DIR/release/idnode")
WORK="${WORK:-/tmp/idnode-stats-flood}"
rm -rf "$WORK" && mkdir -p "$WORK"
"$CARGO_TARGET_DIR/release/examples/stats_history" "$WORK/db"
cat > "$WORK/node.toml" <<TOML
[storage]
path = "$WORK/db"
[http]
listen = "127.0.0.1:18000"
max_concurrent_requests = 100000
[grpc]
listen = "127.0.0.1:18051"
[handle]
listen_udp = "127.0.0.1:18641"
listen_tcp = "127.0.0.1:18641"
[admin]
listen = "127.0.0.1:18180"
TOML
url=http://127.0.0.1:18000/api/handles/88.798.1/JDZ-2024-000123
year="http://127.0.0.1:18000/api/stats?from=$(date -u -d '-365 days' +%F)&to=$(date -u +%F)"
node=""
trap '[[ -n $node ]] && kill "$node" 2>/dev/null' EXIT
number() { [[ $1 =~ ^[0-9.]+$ ]] || { echo "stats_flood: no figure from wrk (see $WORK)" >&2; exit 1; }; echo "$1"; }
for bin in "${bins[@]}"; do
    "$bin" serve -c "$WORK/node.toml" >"$WORK/node.log" 2>&1 &
    node=$!
    for _ in $(seq 100); do curl -sf -o /dev/null "$url" && break; sleep 0.1; done
    kill -0 "$node" 2>/dev/null && curl -sf -o /dev/null "$url" || { echo "stats_flood: $bin did not start (see $WORK/node.log)" >&2; exit 1; }
    one=$(curl -s -o /dev/null -w '%{http_code} in %{time_total} s' "$year")
    mine=$(curl -s -o /dev/null -w '%{http_code} in %{time_total} s' "$year&prefix=88.798.7")
    wrk -t1 -c32 -d8s --latency "$url" >"$WORK/alone.txt"
    wrk -t1 -c16 -d11s --timeout 60s "$year" >"$WORK/reports.txt" &
    flood=$!
    sleep 1
    wrk -t1 -c32 -d8s --latency "$url" >"$WORK/flood.txt"
    wait "$flood"
    kill "$node" && wait "$node" || true
    node=""
    rate() { number "$(awk '/Requests\/sec/ {print $2}' "$1")"; }
    p99() { awk '$1 == "99%" {print $2}' "$1"; }
    total=$(awk '/requests in/ {print $1}' "$WORK/reports.txt")
    refused=$(awk '/Non-2xx/ {print $NF}' "$WORK/reports.txt")
    echo "$bin: a year's report alone: $one (of one prefix: $mine); resolution alone $(rate "$WORK/alone.txt") req/s (p99 $(p99 "$WORK/alone.txt")), during the flood $(rate "$WORK/flood.txt") req/s (p99 $(p99 "$WORK/flood.txt")): ratio $(python3 -c "print(round($(rate "$WORK/flood.txt") / $(rate "$WORK/alone.txt"), 3))"); reports answered $((total - ${refused:-0})), refused ${refused:-0}"
done
