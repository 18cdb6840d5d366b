"""The check runner of the interop scripts: `@check(name)` registers a check, `run(label)` runs them in order,
prints one line each and `<label>: N passed, M failed`, and exits non-zero on any failure."""

import sys
import traceback

_checks = []


def check(name):
    def wrap(f):
        _checks.append((name, f))
        return f
    return wrap


def run(label):
    passed = failed = 0
    for name, f in _checks:
        try:
            f()
            passed += 1
            print(f"ok   {name}")
        except Exception:
            failed += 1
            print(f"FAIL {name}\n{traceback.format_exc()}")
    print(f"{label}: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
