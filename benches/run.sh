#!/usr/bin/env bash
# Reproduces the micro-benchmarks (criterion): the lookup path's codecs (`codec`) and the store and in-process
# answers (`lookup`), and the checks of authenticated administration (`auth`). Results: $CARGO_TARGET_DIR/criterion/ and the terminal. The load tests against reference
# servers are benches/reference.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/prereqs.sh
cargo bench --bench codec --bench lookup --bench auth -- "$@"
