#!/usr/bin/env bash
# Reproduces the lookup-path micro-benchmarks (criterion). Results: target/criterion/ and the terminal.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/prereqs.sh
cargo bench --bench lookup -- "$@"
