#!/usr/bin/env bash
# Starts idnode on its embedded default: RocksDB in ./idnode-data, the ceramics demo data set loaded on first
# start, the REST API on http://127.0.0.1:8000. Plain-HTTP authentication is allowed because it listens on
# loopback only; never pass --allow-insecure-auth on a public address. Extra arguments go to `idnode serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
# Built exactly as the test suite builds it (dev profile, all targets), so the two commands share one RocksDB
# build (RocksDB is optimized even in dev builds, see Cargo.toml); `cargo build --release` for production.
scripts/cargo.sh build --all-targets
exec "${CARGO_TARGET_DIR:-target}/debug/idnode" serve --demo --allow-insecure-auth --http 127.0.0.1:8000 --data-dir idnode-data "$@"
