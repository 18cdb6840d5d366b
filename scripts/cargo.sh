#!/usr/bin/env bash
# Runs `cargo "$@"` once the system prerequisites are in place. Before a first build it says what is coming, and
# while RocksDB compiles it says so once a minute: librocksdb-sys's build script prints nothing for its whole run,
# which is most of a first build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/prereqs.sh

target=${CARGO_TARGET_DIR:-target}
rocksdb_built() { compgen -G "$target/debug/deps/liblibrocksdb_sys-*.rlib" >/dev/null; }
if ! rocksdb_built; then
    cat >&2 <<'NOTE'
idnode: first build. Cargo fetches the crates, then compiles RocksDB's C++ sources (librocksdb-sys) and the
idnode: crate; that takes about 15 minutes on 2 cores, once. Later runs reuse the build and start in seconds.
NOTE
    cargo_pid=$$ # cargo takes this shell's process by exec below
    (
        minutes=0
        while sleep 60; do
            kill -0 "$cargo_pid" 2>/dev/null || exit 0
            rocksdb_built && { echo "idnode: RocksDB is compiled; finishing the build" >&2; exit 0; }
            minutes=$((minutes + 1))
            echo "idnode: still building ($minutes min; RocksDB's C++ takes most of it)" >&2
        done
    ) &
fi
exec cargo "$@"
