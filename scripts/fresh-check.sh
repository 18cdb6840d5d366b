#!/usr/bin/env bash
# Proves the README's two commands on a fresh machine, which a developer's own machine cannot (what was installed
# by hand stays there). Builds a clean Debian 12 root with debootstrap (the minbase variant: what a Debian container
# image holds), gives it this machine's Rust toolchain and nothing else, clones the repository's HEAD into it and
# runs there
#   scripts/demo.sh   until the node answers a resolution of a demo identifier, then stops it;
#   scripts/test.sh   to its end;
# and prints the time of each, what the scripts installed and the test count. Of this machine the root also gets
# its network settings, which any machine here has: the resolver, locally added CA certificates and pip's
# configuration.
#
# Not run by CI (a cold RocksDB build is long); run it before resolving any change to setup. Needs root, the
# package registries, about 25 GB of disk and some 40 minutes on 2 cores. The root is kept until the next run.
#
# Usage: scripts/fresh-check.sh [--with PACKAGE]...
#   --with PACKAGE   installs a Debian package into the root first; `--with libclang-cpp14` gives it what this
#                    project's machine image ships (LLVM's C++ library, without libclang).
# Environment: FRESH_ROOT, the directory to use (/var/tmp/idnode-fresh).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

with=()
while (($#)); do
    case $1 in
        --with) with+=("$2"); shift 2 ;;
        *) echo "usage: scripts/fresh-check.sh [--with PACKAGE]..." >&2; exit 2 ;;
    esac
done
[[ $(id -u) -eq 0 ]] || { echo "fresh-check: needs root (debootstrap, chroot, mounts)" >&2; exit 1; }

work=${FRESH_ROOT:-/var/tmp/idnode-fresh}
base=$work/base # debootstrap's result, made once and copied for each run
root=$work/root
logs=$work/logs
say() { echo "fresh-check: $*" >&2; }
elapsed() { local s=$(($(date +%s) - $1)); printf '%dm %02ds' $((s / 60)) $((s % 60)); }

unmount_root() {
    local m
    # deepest first
    for m in $(awk -v r="$root" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/mounts | sort -r); do
        umount -l "$m" 2>/dev/null || true
    done
}
demo_pid=""
cleanup() {
    [[ -n $demo_pid ]] && kill -TERM -- "-$demo_pid" 2>/dev/null || true
    unmount_root
}
trap cleanup EXIT

# Refuses to start beside a node of this machine: the root shares its network.
for port in 8000 9180 50051 2641; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        say "127.0.0.1:$port is in use on this machine; stop what listens there first"
        exit 1
    fi
done
[[ -z $(git status --porcelain) ]] || say "note: uncommitted changes are not checked (the root gets a clone of HEAD)"

command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }

if [[ ! -e $base/.complete ]]; then
    # The Debian archive this machine's apt uses.
    mirror=$(apt-get indextargets --format '$(REPO_URI)' 'RELEASE: bookworm' 'IDENTIFIER: Packages' | head -1)
    [[ -n $mirror ]] || { say "no bookworm archive in this machine's apt sources"; exit 1; }
    say "debootstrap bookworm (minbase) into $base"
    rm -rf "$base"
    debootstrap --variant=minbase bookworm "$base" "$mirror" >"$work.debootstrap.log" 2>&1 ||
        { tail -20 "$work.debootstrap.log" >&2; exit 1; }
    [[ -e /etc/apt/sources.list.d/debian.sources ]] &&
        cp /etc/apt/sources.list.d/debian.sources "$base/etc/apt/sources.list.d/" && rm -f "$base/etc/apt/sources.list"
    touch "$base/.complete"
fi

unmount_root
if awk -v r="$root" 'index($2, r) == 1 {found = 1} END {exit !found}' /proc/mounts; then
    say "$root still has mounts; not removing it"
    exit 1
fi
rm -rf "$root" "$logs"
mkdir -p "$logs"
cp -a "$base" "$root"

# This machine's network settings.
cp /etc/resolv.conf /etc/hosts "$root/etc/"
mkdir -p "$root/usr/local/share/ca-certificates"
cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
[[ -e /etc/pip.conf ]] && cp /etc/pip.conf "$root/etc/"

# The Rust toolchain: rustup's proxies and the default toolchain.
sysroot=$(rustc --print sysroot)
cargo_bin=$(dirname "$(command -v cargo)")
mkdir -p "$root/root/.rustup/toolchains" "$root/root/.cargo"
cp -a "$cargo_bin" "$root/root/.cargo/bin"
cp -a "$sysroot" "$root/root/.rustup/toolchains/"
printf 'version = "12"\ndefault_toolchain = "%s"\nprofile = "default"\nauto_self_update = "disable"\n' \
    "$(basename "$sysroot")" >"$root/root/.rustup/settings.toml"

git clone -q "$repo" "$root/root/idnode"

mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --rbind /dev "$root/dev"
mount --make-rslave "$root/dev"

in_root() {
    chroot "$root" /usr/bin/env -i HOME=/root USER=root LANG=C.UTF-8 TERM=dumb RUSTUP_AUTO_INSTALL=0 \
        PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /bin/bash -c "$1"
}

if ((${#with[@]})); then
    say "installing into the root: ${with[*]}"
    in_root "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${with[*]} >/dev/null"
fi
say "the root: $(in_root 'dpkg-query -W -f "\${Status}\n" | grep -c "^install ok installed"') Debian packages; $(in_root 'rustc --version')"
absent=()
for tool in cc c++ python3 prometheus; do in_root "command -v $tool" >/dev/null || absent+=("$tool"); done
in_root 'ls /usr/lib/llvm-*/lib/libclang.so* /usr/lib/*-linux-gnu/libclang-[0-9]*.so* >/dev/null 2>&1' || absent+=(libclang)
say "absent from the root before the commands: ${absent[*]:-nothing}"

url=http://127.0.0.1:8000/api/handles/88.798.1/JDZ-2024-000123
say "scripts/demo.sh (log: $logs/demo.log)"
started=$(date +%s)
export root
export -f in_root
setsid bash -c "in_root 'cd /root/idnode && scripts/demo.sh'" >"$logs/demo.log" 2>&1 &
demo_pid=$!
until curl -sf "$url" 2>/dev/null | grep -q '"responseCode":1'; do
    if ! kill -0 "$demo_pid" 2>/dev/null; then
        tail -30 "$logs/demo.log" >&2
        say "FAILED: scripts/demo.sh stopped before answering a resolution"
        exit 1
    fi
    if (($(date +%s) - started > 3600)); then
        say "FAILED: no resolution within an hour"
        exit 1
    fi
    sleep 5
done
demo_time=$(elapsed "$started")
say "scripts/demo.sh answered $url after $demo_time"
kill -TERM -- "-$demo_pid"
wait "$demo_pid" || true
demo_pid=""

say "scripts/test.sh (log: $logs/test.log)"
started=$(date +%s)
status=0
in_root 'cd /root/idnode && scripts/test.sh' >"$logs/test.log" 2>&1 || status=$?
test_time=$(elapsed "$started")
counts=$(awk '/^test result:/ {p += $4; f += $6; i += $8} END {printf "%d passed, %d failed, %d ignored", p, f, i}' "$logs/test.log")

say "installed by the scripts: $(grep -h '^prereqs: installed' "$logs/demo.log" "$logs/test.log" | sed 's/^prereqs: installed //' | paste -sd' ')"
say "scripts/demo.sh: answered a resolution after $demo_time"
if ((status)); then
    tail -40 "$logs/test.log" >&2
    say "FAILED: scripts/test.sh exited $status after $test_time ($counts)"
    exit 1
fi
say "scripts/test.sh: passed in $test_time ($counts)"
