"""Live oracle for pickle-core's loader tests: prints JSON with, for each stream, what
CPython's pickle.loads returns (its repr) or raises, for encoding ASCII/latin1/bytes.
Streams: plain data pickled by this interpreter at protocols 0-5 (C and Python picklers)
and by Python 2.7 (cPickle and pickle) when it is installed."""
import json, os, pickle, subprocess, sys

rec = []
rec.append(rec)
d = {}
d["self"] = d
shared = [1]
objs = [
    None, True, False, 0, -5, 2**31, 2**100, -2**70, 0.5, -0.0, 1e300, float("inf"),
    "", "abc", "\u00e9\u20ac\U0001f600", "\ud800", "a\nb\\c", b"", b"\x00\xff", bytearray(b"x"),
    (), (1,), (1, (2, (3,))), [1, [2, [3]]], {"a": 1, 2: "b", (1, 2): None}, {1, 2, 3},
    frozenset(["a"]), rec, d, [shared, shared, (shared,)], list(range(1001)),
    {i: str(i) for i in range(1001)}, {"k" * 300: b"v" * 300}, "x" * 70000,
]
streams = []
for obj in objs:
    for proto in range(6):
        for dumps in (pickle.dumps, pickle._dumps):
            streams.append(dumps(obj, proto))

py27 = os.path.expanduser("~/.pyenv/versions/2.7.18/bin/python")
if os.path.exists(py27):
    src = ("import cPickle, pickle, sys\n"
           "objs = ['caf\\xc3\\xa9', u'caf\\xe9', 1 << 40, 1L << 70, ('a', ['b', {'c': 1.5}]), 'x' * 300, "
           "set([1, 2]), True]\n"
           "for o in objs:\n"
           "    for p in (0, 1, 2):\n"
           "        sys.stdout.write(cPickle.dumps(o, p).encode('hex') + '\\n')\n"
           "        sys.stdout.write(pickle.dumps(o, p).encode('hex') + '\\n')\n")
    out = subprocess.check_output([py27, "-c", src], env={"PYTHONHASHSEED": "0"}).decode()
    streams += [bytes.fromhex(line) for line in out.split()]

streams = list(dict.fromkeys(streams))
result = []
for data in streams:
    entry = {"hex": data.hex()}
    for enc in ("ASCII", "latin1", "bytes"):
        try:
            entry[enc] = {"ok": True, "repr": repr(pickle.loads(data, encoding=enc))}
        except Exception as e:
            entry[enc] = {"ok": False, "exc": type(e).__name__}
    result.append(entry)
json.dump(result, sys.stdout)
