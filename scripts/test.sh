#!/usr/bin/env bash
# Runs the whole test suite: unit, property and integration tests (real RocksDB, real sockets on loopback),
# the crash test and the pyhandle interoperability test. Installs missing system prerequisites first.
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/cargo.sh test --all-targets "$@"
