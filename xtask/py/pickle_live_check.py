# -*- coding: utf-8 -*-
"""Live check used by tests/tests/pickle_live.rs: loads every `<case>.p<N>.pickle` written by
brine's writer in DIR (protocols this interpreter supports) and compares the result with the
corpus object of xtask/py/pickle_fixtures.py. Prints one JSON object {"<file>": "ok" | why}.

Runs on CPython 2.7 and 3.6+ (Python-2-compatible syntax)."""

import json
import os
import pickle
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pickle_fixtures as fx  # noqa: E402


def same(a, b):
    try:
        if a == b:
            return True
    except RuntimeError:  # recursion (RecursionError on 3.x is a RuntimeError)
        pass
    # Recursive structures, NaN: compare the canonical views.
    try:
        return fx.dumps_json(fx.view(a, "loaded", True)) == fx.dumps_json(fx.view(b, "loaded", True))
    except TypeError:
        return False


def main(directory):
    sys.setrecursionlimit(20000)
    objects = dict((name, obj) for (name, obj, _) in fx.plain_cases())
    out = {}
    for fname in sorted(os.listdir(directory)):
        if not fname.endswith(".pickle"):
            continue
        case, proto = fname[: -len(".pickle")].rsplit(".p", 1)
        if int(proto) > pickle.HIGHEST_PROTOCOL or case not in objects:
            continue
        with open(os.path.join(directory, fname), "rb") as f:
            data = f.read()
        try:
            loaded = pickle.loads(data)
        except Exception as e:
            out[fname] = "load failed: %s: %s" % (type(e).__name__, e)
            continue
        out[fname] = "ok" if same(loaded, objects[case]) else "differs"
    sys.stdout.write(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])
