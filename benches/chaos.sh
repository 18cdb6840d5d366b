#!/usr/bin/env bash
# Chaos run (needs root, for a tmpfs): mixed read/write load against a release node while it is killed with
# SIGKILL and restarted, its disk (a 64 MiB tmpfs) filled and freed, and its descriptors exhausted (its soft limit
# lowered to its next free descriptor, and a flood of 3,000 connections from 12 loopback /24s against
# max_open = 1000) and released. Then every acknowledged write must be there and the node must serve again, with
# no restart but the one after SIGKILL. Prints figures per phase; exits 1 on a lost write or a node that did not
# come back.
#
#   benches/chaos.sh [BINARY]     # default: the release build under $CARGO_TARGET_DIR (or target/)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-${CARGO_TARGET_DIR:-target}/release/idnode}
[[ -x $BIN ]] || cargo build --release
WORK=${WORK:-/tmp/idnode-chaos}
umount "$WORK/disk" 2>/dev/null || true
rm -rf "$WORK" && mkdir -p "$WORK/disk"
mount -t tmpfs -o size=64m idnode-chaos "$WORK/disk"
trap 'umount "$WORK/disk" 2>/dev/null || true' EXIT
ulimit -n "$(ulimit -Hn)"
python3 benches/chaos.py "$BIN" "$WORK"
