#!/usr/bin/env bash
# Reproduces the micro-benchmarks of the lookup path (criterion): codecs (`codec`) and the store and in-process
# answers (`lookup`). Results: $CARGO_TARGET_DIR/criterion/ and the terminal. The load tests against reference
# servers are benches/reference.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/prereqs.sh
cargo bench --bench codec --bench lookup -- "$@"
