#!/usr/bin/env bash
# Installs the system prerequisites of idnode's build and tests, only where missing:
#   - a C++ compiler and libclang (the RocksDB bindings are compiled and generated at build time);
#   - Python 3 with venv (the pyhandle interoperability test installs pyhandle into a virtual environment);
#   - Prometheus and promtool (a test scrapes the node with a real Prometheus server and checks the alert rules).
# Uses apt-get (Debian/Ubuntu), as root or through sudo.
set -euo pipefail

need=()
if ! ldconfig -p 2>/dev/null | grep -q 'libclang[-0-9.]*\.so' && ! ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1; then
    need+=(libclang-dev)
fi
command -v c++ >/dev/null 2>&1 || need+=(g++)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    need+=(python3-venv)
fi

command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || need+=(prometheus)

if ((${#need[@]})); then
    echo "prereqs: installing ${need[*]}" >&2
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
