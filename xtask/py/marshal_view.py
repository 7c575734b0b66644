# CPython's own JSON view (the `brine pyc --json` schema) of existing .pyc files.
#
#     python marshal_view.py < paths   (one path per line)
#
# Prints (and flushes), for each path as soon as it is read, one compact JSON line: the view of the file as the running
# interpreter loads it, or {"error": "..."}. Used by `cargo xtask verify-stdlib` to compare our
# view with CPython's on real standard-library files. Runs on Python 2.7 and 3.6+; the views
# themselves come from marshal_fixtures.py, so fixtures and this check agree by construction.
from __future__ import print_function

import marshal
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import marshal_fixtures as mf  # noqa: E402


def header_len():
    if sys.version_info < (3, 3):
        return 8
    if sys.version_info < (3, 7):
        return 12
    return 16


def view(path):
    with open(path, 'rb') as f:
        data = f.read()
    n = header_len()
    doc = mf.header_view(data[:n])
    doc['python'] = mf.VERSION
    doc['code'] = mf.code_view(marshal.loads(data[n:]))
    return doc


def main():
    out = getattr(sys.stdout, 'buffer', sys.stdout)
    # readline(), not iteration: Python 2's file iterator reads ahead and would wait for more
    # input while the caller waits for this answer.
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        path = line.rstrip('\n')
        if not path:
            continue
        try:
            doc = view(path)
        except Exception as exc:
            doc = {'error': '%s: %s' % (type(exc).__name__, exc)}
        out.write(mf.dump_json(doc, compact=True))
        out.flush()


if __name__ == '__main__':
    main()
