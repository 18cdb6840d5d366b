#!/usr/bin/env bash
# Installs the system prerequisites of idnode's build and tests, only where missing, and stops before any compiling
# with what is missing and how to install it when it cannot. Each check tests for the thing the build or a test
# actually uses, not for a file that merely looks like it:
#   - the Rust toolchain (1.88 or newer), which the scripts cannot install;
#   - CA certificates (cargo fetches crates over HTTPS);
#   - a C and a C++ compiler (rustc links with `cc`; RocksDB's C++ is compiled at build time);
#   - libclang and clang's own headers (bindgen loads libclang.so or libclang-N.so to read RocksDB's C header;
#     libclang-cpp, LLVM's C++ interface library, is a different library and does not count);
#   - Python 3 with venv and ensurepip (the pyhandle and gRPC interoperability tests build virtual environments);
#   - Prometheus and promtool (a test scrapes the node with a real Prometheus server and checks the alert rules).
# Installs with apt-get (Debian/Ubuntu), as root or through sudo.
set -euo pipefail

rust_ok() {
    command -v cargo >/dev/null 2>&1 && command -v rustc >/dev/null 2>&1 || return 1
    local version
    version=$(rustc --version | awk '{print $2}')
    [[ $(printf '%s\n' 1.88.0 "${version%%-*}" | sort -V | head -1) == 1.88.0 ]]
}

ca_ok() { [[ -s /etc/ssl/certs/ca-certificates.crt ]]; }

# The file names clang-sys (under bindgen) looks for, in the directories it searches: LIBCLANG_PATH, then the
# linker's cache and LLVM's library directories. libclang-cpp.so.N would match a careless libclang* pattern.
libclang_ok() {
    local dirs=() d f
    [[ -n ${LIBCLANG_PATH:-} ]] && dirs+=("$LIBCLANG_PATH")
    dirs+=(/usr/lib/llvm-*/lib /usr/lib/*-linux-gnu /usr/lib /usr/local/lib)
    for d in "${dirs[@]}"; do
        for f in "$d"/libclang.so "$d"/libclang.so.* "$d"/libclang-[0-9]*.so "$d"/libclang-[0-9]*.so.*; do
            [[ -e $f ]] && return 0
        done
    done
    ldconfig -p 2>/dev/null | awk '{print $1}' | grep -Eq '^libclang(-[0-9.]+)?\.so(\.[0-9.]+)?$'
}

# bindgen parses RocksDB's c.h, which includes <stddef.h>: that header comes with clang's resource directory
# (libclang-common-N-dev), not with the C library.
clang_headers_ok() { compgen -G '/usr/lib/llvm-*/lib/clang/*/include/stddef.h' >/dev/null; }

cc_ok() { command -v cc >/dev/null 2>&1; }

cxx_ok() { command -v c++ >/dev/null 2>&1; }

python_ok() { command -v python3 >/dev/null 2>&1 && python3 -c 'import venv, ensurepip' >/dev/null 2>&1; }

prometheus_ok() { command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; }

# check NAME PACKAGE WHAT: NAME_ok says whether it is there; PACKAGE is the Debian package that brings it.
missing=()
packages=()
check() {
    if ! "$1_ok"; then
        missing+=("$3")
        packages+=("$2")
    fi
}
check_all() {
    missing=()
    packages=()
    check ca ca-certificates "CA certificates"
    check cc gcc "a C compiler (cc)"
    check cxx g++ "a C++ compiler (c++)"
    check libclang libclang-dev "libclang (libclang.so or libclang-N.so)"
    check clang_headers libclang-dev "clang's headers (stddef.h)"
    check python python3-venv "Python 3 with venv"
    check prometheus prometheus "Prometheus and promtool"
}
list() { local IFS=, s; s="$*"; echo "${s//,/, }"; }

if ! rust_ok; then
    echo "prereqs: the Rust toolchain (cargo and rustc 1.88 or newer) is missing or too old." >&2
    echo "prereqs: install it with rustup (or 'rustup update stable'), then run this again." >&2
    exit 1
fi

check_all
((${#missing[@]})) || exit 0

unique=()
for p in "${packages[@]}"; do [[ " ${unique[*]} " == *" $p "* ]] || unique+=("$p"); done
packages=("${unique[@]}")
echo "prereqs: missing: $(list "${missing[@]}")" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 && sudo="sudo"
fi
if ! command -v apt-get >/dev/null 2>&1 || { [[ $(id -u) -ne 0 ]] && [[ -z $sudo ]]; }; then
    echo "prereqs: cannot install them here (this needs apt-get, as root or through sudo)." >&2
    echo "prereqs: install by hand: ${packages[*]} (Debian/Ubuntu names), then run this again." >&2
    exit 1
fi
echo "prereqs: installing the Debian packages ${packages[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null; }; then
    echo "prereqs: 'apt-get install ${packages[*]}' failed (see above); install them, then run this again." >&2
    exit 1
fi

installed=("${packages[@]}")
check_all
if ((${#missing[@]})); then
    echo "prereqs: still missing after installing ${installed[*]}: $(list "${missing[@]}")." >&2
    echo "prereqs: install them by hand (for libclang, LIBCLANG_PATH may name its directory), then run this again." >&2
    exit 1
fi
echo "prereqs: installed ${installed[*]}" >&2
