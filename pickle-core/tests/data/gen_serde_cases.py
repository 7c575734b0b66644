"""Regenerates serde_cases.json (run with CPython 3.13 from pickle-core/tests/data/:
python3.13 gen_serde_cases.py > serde_cases.json). Each case: a pickle made by a real
CPython (3.13 C and pure-Python picklers at every protocol; 2.7 cPickle for Python-2 str) and
the JSON of what CPython 3.13's pickle.loads returns (tuples as lists, bytes as lists of ints,
instances as their __dict__), used as the expected value by tests/serde_de.rs."""
import json, os, pickle, subprocess, sys


class Point:
    def __init__(self, x, y, name, tags):
        self.x, self.y, self.name, self.tags = x, y, name, tags


def to_json(o):
    if isinstance(o, (bytes, bytearray)):
        return list(o)
    if isinstance(o, (list, tuple)):
        return [to_json(x) for x in o]
    if isinstance(o, dict):
        return {k: to_json(v) for k, v in o.items()}
    if isinstance(o, Point):
        return to_json(o.__dict__)
    return o


shared = ["s", 1]
values = {
    "scalars": [None, True, False, 0, -1, 255, 65536, -2**31, 2**62, 1.5, -0.0, "", "h\u00e9llo \U0001f600"],
    "nested": {"a": [1, [2, [3, [4]]]], "b": {"c": (1, 2.5, "x")}, "e": []},
    "shared": {"x": shared, "y": shared},
    "bytes": {"b": b"\x00\xffab", "ba": bytearray(b"xy")},
    "point": Point(3, -1.25, "p", ["a", "b"]),
    "points": [Point(i, i / 2, "n%d" % i, []) for i in range(3)],
    "big_list": list(range(1001)),
    "long_str": "x" * 70000,
}
cases = []
for name, value in values.items():
    for proto in range(6):
        for pickler, dumps in (("C", pickle.dumps), ("py", pickle._dumps)):
            if name == "long_str" and (pickler, proto) not in (("C", 3), ("C", 4)):
                continue  # one framing edge is enough; keeps the file small
            data = dumps(value, proto)
            cases.append({"name": name, "proto": proto, "pickler": pickler, "hex": data.hex(),
                          "encoding": "ASCII", "json": to_json(pickle.loads(data))})

py27 = os.path.expanduser("~/.pyenv/versions/2.7.18/bin/python")
if os.path.exists(py27):
    src = ("import cPickle, pickle, sys\n"
           "v = {'s': 'caf\\xc3\\xa9', 'u': u'caf\\xe9', 'n': 1 << 40, 'l': -(1L << 50), 't': ('a', 1)}\n"
           "for p in (0, 1, 2):\n"
           "    sys.stdout.write(cPickle.dumps(v, p).encode('hex') + '\\n')\n"
           "    sys.stdout.write(pickle.dumps(v, p).encode('hex') + '\\n')\n")
    out = subprocess.check_output([py27, "-c", src], env={"PYTHONHASHSEED": "0"}).decode()
    for i, line in enumerate(out.split()):
        data = bytes.fromhex(line)
        cases.append({"name": "py27", "proto": i // 2, "pickler": ("cPickle", "pickle")[i % 2],
                      "hex": line, "encoding": "latin1",
                      "json": to_json(pickle.loads(data, encoding="latin1"))})
json.dump({"_about": __doc__.strip(), "cases": cases}, sys.stdout, separators=(",", ":"))
