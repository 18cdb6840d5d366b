#!/usr/bin/env bash
# The write path: batches of 2,000 templated product records over gRPC BatchRegister and SNMS batchCreate, and
# single REST PUTs of templated and of free records (the cost of the template check), against one or two builds.
# Each build serves the demo data on a fresh store on SERVER_CPU, written by `idnode-bench register` on GEN_CPU;
# builds alternate round by round, so the machine's drift hits both alike. Durability is the default (fsync) unless
# DURABILITY=buffered. Prints one JSON line per measurement.
#
#   benches/writes.sh NEW_BINARY [OLD_BINARY] [ROUNDS]     # default: 3 rounds
set -euo pipefail
NEW=$1 OLD=${2:-} ROUNDS=${3:-3}
GENERATOR=${GENERATOR:-$(dirname "$NEW")/idnode-bench}
WORK=${WORK:-/tmp/idnode-writes} SERVER_CPU=${SERVER_CPU:-0} GEN_CPU=${GEN_CPU:-1}
BATCHES=${BATCHES:-5} PUTS=${PUTS:-2000}
mkdir -p "$WORK"
printf '[storage]\ndurability = "%s"\n' "${DURABILITY:-fsync}" >"$WORK/node.toml"

serve() { # BINARY: a node on a fresh demo store; sets NODE
    rm -rf "$WORK/data"
    IDNODE_CONFIG=$WORK/node.toml taskset -c "$SERVER_CPU" "$1" serve --demo --allow-insecure-auth \
        --http 127.0.0.1:18000 --grpc 127.0.0.1:18051 --handle 127.0.0.1:18641 --data-dir "$WORK/data" \
        >"$WORK/node.log" 2>&1 &
    NODE=$!
    for _ in $(seq 150); do
        curl -sf http://127.0.0.1:18000/api/handles/88.798.1/JDZ-2024-000001 >/dev/null && return
        sleep 0.2
    done
    echo "writes: the node did not start (see $WORK/node.log)" >&2
    exit 1
}
register() { # LABEL ARGS...
    local label=$1
    shift
    local out
    out=$(taskset -c "$GEN_CPU" timeout 300 "$GENERATOR" register "$@")
    echo "{\"build\":\"$label\",${out#\{}"
}
measure() { # LABEL BINARY
    serve "$2"
    register "$1" --via grpc-batch --target 127.0.0.1:18051 --size 2000 --calls "$BATCHES"
    register "$1" --via snms-batch --target 127.0.0.1:18000 --size 2000 --calls "$BATCHES"
    register "$1" --via rest-put --target 127.0.0.1:18000 --size "$PUTS" --calls 1
    register "$1" --via rest-put --target 127.0.0.1:18000 --size "$PUTS" --calls 1 --free
    kill "$NODE"
    wait "$NODE" 2>/dev/null || true
}
trap 'kill ${NODE:-} 2>/dev/null || true' EXIT
for round in $(seq "$ROUNDS"); do
    measure new "$NEW"
    [[ -n $OLD ]] && measure old "$OLD"
done
