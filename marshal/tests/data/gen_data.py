"""Regenerates the expected values used by brine-marshal's tests from real interpreters.

    python3 marshal/tests/data/gen_data.py

Writes, next to this script:
  values.json       per interpreter: marshal.dumps(value, v) for every marshal version v it
                    supports, with repr(value) (and the type of the loaded value);
  repr.json         Python 3.13's repr() of floats, complex numbers, str and bytes, and
                    '%.17g' of floats;
  source_hash.json  importlib.util.source_hash() of sample sources, per interpreter (3.7+);
  code.json         marshal.dumps of a compiled sample module per interpreter, with the
                    attributes of each of its code objects (pre-order).
Deterministic (PYTHONHASHSEED=0, fixed inputs), so running it twice changes nothing.
"""
import glob
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

def interpreters():
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = {}
    for exe in sorted(glob.glob(os.path.join(root, "versions", "*", "bin", "python"))):
        out = subprocess.check_output([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        found.setdefault(out.decode().strip(), exe)
    return sorted(found.items(), key=lambda kv: tuple(map(int, kv[0].split("."))))

def run(exe, code, stdin=None):
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONIOENCODING="utf-8")
    out = subprocess.run([exe, "-c", code], input=stdin, stdout=subprocess.PIPE, env=env, check=True)
    return json.loads(out.stdout.decode("utf-8"))

# Expressions valid in Python 2.7 and 3.x; each is evaluated by every interpreter.
VALUE_EXPRS = [
    "None", "True", "False", "Ellipsis", "StopIteration",
    "0", "1", "-1", "2**31-1", "-2**31", "2**31", "-2**31-1", "2**62", "2**63", "-2**63",
    "2**64", "-2**100", "2**1000", "-(2**1000)", "32768", "-32768", "2**45-1",
    "1.5", "-0.0", "0.1", "1e300", "5e-324", "float('inf')", "-float('inf')", "float('nan')",
    "complex(1, -2)", "complex(0.1, 1e20)", "complex(-0.0, float('inf'))",
    "b''", "b'ab\\x00\\xff'", "b'x' * 300",
    "u''", "u'abc'", "u'\\xe9'", "u'\\u20ac'", "u'\\U0001f600'", "u'\\ud800'", "u'a\\udcff\\ud800b'",
    "u'\\ud83d\\ude00'", "u'x' * 300", "u'\\xe9' * 300", "u'snake_case'",
    "()", "(1,)", "(1, (2, (3, ())))", "tuple(range(256))", "tuple(range(300))",
    "[]", "[1, [2, u'x']]", "{}", "{1: u'a', u'b': [None]}",
    "frozenset()", "frozenset([1, 2, 3])", "frozenset([u'a', u'b', u'c'])", "set([7])",
    "(lambda t: (t, t))(tuple(range(300)))",
    "(lambda a: (a.append(a), a)[1])([])",
    "(lambda l: [l, l, (l,)])([1])",
    "(lambda s: (s, s, s))(u'shared' + u'string')",
]

# Python 2 only: byte strings, interned ones (t/R), ints that need I, longs.
PY2_EXPRS = [
    "'plain'", "intern('shared_name')", "(lambda s: (s, s, [s]))(intern('shared_name'))",
    "(intern('a'), intern('b'), intern('a'), 'a')", "2**40", "-2**40", "1L", "-(2L**70)",
]

VALUES_SNIPPET = r'''
import json, marshal, sys
exprs = json.loads(sys.stdin.read())
out = []
for e in exprs:
    v = eval(e)
    for version in range(marshal.version + 1):
        try:
            data = marshal.dumps(v, version)
        except ValueError:
            continue  # recursive objects need references (version 3+)
        loaded = marshal.loads(data)
        r = repr(loaded)
        if not isinstance(r, str):
            r = r.decode("latin-1")
        out.append({"expr": e, "marshal_version": version, "hex": data.hex() if hasattr(data, "hex") else data.encode("hex"), "repr": r, "type": type(loaded).__name__})
sys.stdout.write(json.dumps(out))
'''

REPR_SNIPPET = r'''
import json, random, struct, sys
rng = random.Random(20240607)
floats = [0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1.5, 100.0, 1e15, 1e16, 1e17, 123456789012345678.0,
          1e-4, 1e-5, 0.0001234, 0.00001234, 1e22, 1e23, 5e-324, 2.2250738585072014e-308,
          1.7976931348623157e308, float('inf'), float('-inf'), float('nan'), 3.141592653589793,
          2.0**53, 2.0**53 + 2, 9007199254740993.0, 1/3, 2/3, 123.456, 1e100, 9.999999999999999e15]
for _ in range(400):
    floats.append(struct.unpack('<d', struct.pack('<Q', rng.getrandbits(64)))[0])
for _ in range(300):
    floats.append(rng.uniform(-1, 1) * 10 ** rng.randint(-30, 30))
for _ in range(100):
    floats.append(float(rng.randint(-10**6, 10**6)))
def bits(x):
    return '%016x' % struct.unpack('<Q', struct.pack('<d', x))[0]
out = {"float": [], "complex": [], "str": [], "bytes": []}
for x in floats:
    out["float"].append({"bits": bits(x), "repr": repr(x), "g17": '%.17g' % x})
parts = [0.0, -0.0, 1.0, -1.0, 2.5, 1e16, 1e-7, float('inf'), float('-inf'), float('nan')]
for a in parts:
    for b in parts:
        out["complex"].append({"re": bits(a), "im": bits(b), "repr": repr(complex(a, b))})
cps = list(range(0, 0x400)) + [0x85, 0xa0, 0xad, 0x2028, 0x200b, 0x3000, 0xfeff, 0xfffd, 0xffff,
       0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0x10000, 0x1f600, 0xe0001, 0x10ffff, 0x40000]
for _ in range(400):
    cps.append(rng.randrange(0x110000))
for c in cps:
    s = chr(c)
    out["str"].append({"cps": [c], "repr": repr(s)})
    out["str"].append({"cps": [ord(x) for x in "a" + s + "'"], "repr": repr("a" + s + "'")})
for s in ["", "'", '"', "'\"", "it's", 'say "hi"', "\\", "tab\there", "\udcff\ud800", "\ud83d\ude00"]:
    out["str"].append({"cps": [ord(x) for x in s], "repr": repr(s)})
for b in [b"", b"'", b'"', b"'\"", bytes(range(256)), b"it's", b"\\x"]:
    out["bytes"].append({"hex": b.hex(), "repr": repr(b)})
sys.stdout.write(json.dumps(out))
'''

CODE_SOURCE_PY3 = """
import os
x = {1, 2}
def outer(a, b=2, *args, c, **kw):
    y = a + b
    def inner(z, /):
        return y + z + c
    return inner, lambda: [i for i in args], 'text', 1.5, b'raw'
class K:
    def m(self):
        return __class__
"""

CODE_SOURCE_PY2 = """
import os
x = {1, 2}
def outer(a, b=2, *args, **kw):
    y = a + b
    def inner(z):
        return y + z
    return inner, lambda: [i for i in args], 'text', 1.5, u'uni'
class K:
    def m(self):
        return self
"""

CODE_SNIPPET = r'''
import binascii, json, marshal, sys
src = sys.stdin.read()
if sys.version_info < (3, 8):
    src = src.replace("z, /)", "z)")
top = compile(src, "sample.py", "exec")
def hexb(b):
    return binascii.hexlify(b).decode("ascii")
def text(s):
    return s if isinstance(s, str) else s.decode("latin-1")
codes = []
def walk(c):
    d = {"co_argcount": c.co_argcount, "co_stacksize": c.co_stacksize, "co_flags": c.co_flags,
         "co_code": hexb(c.co_code), "co_names": [text(n) for n in c.co_names],
         "co_filename": text(c.co_filename), "co_name": text(c.co_name),
         "co_firstlineno": c.co_firstlineno, "co_freevars": [text(n) for n in c.co_freevars],
         "consts": len(c.co_consts)}
    if sys.version_info >= (3,):
        d["co_kwonlyargcount"] = c.co_kwonlyargcount
    if sys.version_info >= (3, 8):
        d["co_posonlyargcount"] = c.co_posonlyargcount
    if sys.version_info < (3, 11):
        d["co_nlocals"] = c.co_nlocals
        d["co_varnames"] = [text(n) for n in c.co_varnames]
        d["co_cellvars"] = [text(n) for n in c.co_cellvars]
    if sys.version_info < (3, 10):
        d["co_lnotab"] = hexb(c.co_lnotab)
    else:
        d["co_linetable"] = hexb(c.co_linetable)
    if sys.version_info >= (3, 11):
        d["co_qualname"] = c.co_qualname
        d["co_exceptiontable"] = hexb(c.co_exceptiontable)
    codes.append(d)
    for k in c.co_consts:
        if hasattr(k, "co_code"):
            walk(k)
walk(top)
sys.stdout.write(json.dumps({"hex": hexb(marshal.dumps(top)), "codes": codes}))
'''

SOURCES = [b"", b"a", b"1234567", b"12345678", b"123456789", b"print('hello')\n",
           b"x = 1\n" * 100, bytes(range(256))]

HASH_SNIPPET = r'''
import importlib.util, json, sys
sources = [bytes.fromhex(h) for h in json.loads(sys.stdin.read())]
sys.stdout.write(json.dumps({"magic": importlib.util.MAGIC_NUMBER.hex(),
    "hashes": [{"source": s.hex(), "hash": importlib.util.source_hash(s).hex()} for s in sources]}))
'''

def main():
    interps = interpreters()
    values, hashes, codes = {}, {}, {}
    for label, exe in interps:
        major, minor = map(int, label.split("."))
        exprs = VALUE_EXPRS + (PY2_EXPRS if major == 2 else [])
        values[label] = run(exe, VALUES_SNIPPET, json.dumps(exprs).encode())
        src = CODE_SOURCE_PY2 if major == 2 else CODE_SOURCE_PY3
        codes[label] = run(exe, CODE_SNIPPET, src.encode())
        if (major, minor) >= (3, 7):
            hashes[label] = run(exe, HASH_SNIPPET, json.dumps([s.hex() for s in SOURCES]).encode())
    newest = interps[-1][1]
    reprs = run(newest, REPR_SNIPPET)
    for name, data in [("values.json", values), ("repr.json", reprs), ("source_hash.json", hashes), ("code.json", codes)]:
        with open(os.path.join(HERE, name), "w") as f:
            json.dump(data, f, indent=0, sort_keys=True)
            f.write("\n")

if __name__ == "__main__":
    main()
