# -*- coding: utf-8 -*-
"""Pickle fixture generator, driven by `cargo xtask fixtures pickle` (xtask/src/fixtures_pickle.rs).

Runs on CPython 2.7 and 3.6-3.13, so it sticks to syntax both understand.

Commands:
  dump TMPDIR            pickle the corpus with this interpreter's C and pure-Python picklers at every
                         protocol it supports; write TMPDIR/<X.Y>/<case>.<impl>.p<N>.pickle and
                         TMPDIR/<X.Y>/manifest.json (plus value.json source views on 3.x)
  malformed SPEC OUT     run this interpreter's C and pure-Python unpicklers on the malformed streams of
                         SPEC (unpickler_errors_cpython311.json) and our own crafted ones; write OUT
  analyze TMPDIR FINAL   (3.13 only) deduplicate the streams, disassemble each with pickletools
                         (plain and annotated), record genops, load each stream and record CPython's
                         JSON view, merge the malformed verdicts, write FINAL/index.json

The JSON views are documented in tests/fixtures/pickle/README.md.
"""

import binascii
import collections
import datetime
import io
import json
import os
import pickle
import sys

PY2 = sys.version_info[0] == 2
if PY2:
    import cPickle  # noqa: F401

    text_type = unicode  # noqa: F821
    int_types = (int, long)  # noqa: F821
else:
    text_type = str
    int_types = (int,)

LABEL = "%d.%d" % sys.version_info[:2]


# ---------------------------------------------------------------------------------------------
# The corpus

class Point(object):
    """A plain class: pickled through copyreg (REDUCE/NEWOBJ + BUILD)."""

    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __eq__(self, other):
        return type(other) is Point and self.__dict__ == other.__dict__


# Pickled as brine_fixture.Point: a module name that says where it came from (never imported when
# loading, since the fixtures never load symbolic cases).
Point.__module__ = "brine_fixture"
_fixture_module = type(sys)("brine_fixture")
_fixture_module.Point = Point
sys.modules["brine_fixture"] = _fixture_module


def lone(code):
    """A one-character text value (works for surrogates on 2.7 wide builds too)."""
    if PY2:
        return unichr(code)  # noqa: F821
    return chr(code)


def ints_boundaries():
    vals = [0, 1, 127, 128, 255, 256, 65535, 65536, -1, -2, -127, -128, -129, -255, -256, -257,
            -32768, -32769, -65535, -65536, 2 ** 31 - 1, 2 ** 31, -2 ** 31, -2 ** 31 - 1,
            2 ** 32, 2 ** 40, 2 ** 63 - 1, 2 ** 63, -2 ** 63, -2 ** 63 - 1, 2 ** 64, -2 ** 64]
    for k in range(1, 10):
        b = 2 ** (8 * k - 1)
        vals.extend([b - 1, b, b + 1, -b + 1, -b, -b - 1])
    return vals


def plain_cases():
    """(name, object, protocols or None for all) triples of plain data."""
    cases = []

    def add(name, obj, protos=None):
        cases.append((name, obj, protos))

    add("none", None)
    add("true", True)
    add("false", False)
    add("int_zero", 0)
    add("int_small", 7)
    add("int_neg", -5)
    add("int_boundaries", ints_boundaries())
    add("int_big", 2 ** 200 + 12345)
    add("int_big_neg", -(2 ** 300) - 1)
    add("int_long4", 2 ** 2100 + 1, [2, 3, 4, 5])
    add("floats", [0.0, -0.0, 1.0, -1.5, 0.1, 2.5, 1e16, 1e15, 123456789.123, 1e22, 1e100, 1e-5,
                   1e-4, 1e-300, 5e-324, 1.7976931348623157e308, float("inf"), float("-inf"),
                   1.0 / 3])
    add("float_nan", float("nan"))
    add("float_single", 3.25)
    add("bools_none", [True, False, None, True])
    add("str_empty", u"")
    add("str_ascii", u"hello world")
    add("str_latin1", u"caf\xe9 \xff")
    add("str_bmp", u"\u65e5\u672c\u8a9e \u20ac")
    add("str_nonbmp", u"smile \U0001F600 \U00010000")
    add("str_surrogates", [lone(0xD800), lone(0xDFFF), u"a" + lone(0xDC80) + u"b"])
    add("str_escapes", u"back\\slash new\nline cr\r nul\x00 sub\x1a tab\t quote' dq\" end")
    add("str_255", u"s" * 255)
    add("str_256", u"t" * 256)
    add("str_255_utf8", u"\xe9" * 127 + u"x")  # 255 UTF-8 bytes in 128 characters
    add("bytes_empty", b"")
    add("bytes_small", b"\x00\x01abc\xff")
    add("bytes_255", b"b" * 255)
    add("bytes_256", b"c" * 256)
    add("bytearray_empty", bytearray())
    add("bytearray_small", bytearray(b"ab\xff\x00"))
    add("tuple_empty", ())
    add("tuple_1", (1,))
    add("tuple_2", (1, u"two"))
    add("tuple_3", (1, 2.0, None))
    add("tuple_4", (1, 2, 3, 4))
    add("tuple_10", tuple(range(10)))
    add("tuple_nested", ((), ((),), (1, (2, (3,)))))
    add("list_empty", [])
    add("list_1", [1])
    add("list_2", [1, 2])
    # Batch edges: protocol 0 has no batching, and 1/2/4 cover the other code paths.
    batch_protos = [1, 2, 4]
    for n in (999, 1000, 1001, 2001):
        add("list_%d" % n, list(range(n)), batch_protos)
    add("dict_empty", {})
    add("dict_1", {1: 2})
    add("dict_str_keys", {u"a": 1, u"b": [2], u"c": {u"d": None}})
    add("dict_mixed_keys", {1: u"a", u"b": [1], (1, 2): None, 2.5: b"x", None: True, b"k": 0})
    for n in (999, 1000, 1001):
        add("dict_%d" % n, dict((i, -i) for i in range(n)), batch_protos)
    add("set_empty", set())
    add("set_1", set([1]))
    add("set_ints", set([3, 1, 2, 100, -7]))
    add("set_strs", set([u"apple", u"banana", u"cherry"]))
    add("set_tuples", set([(1, 2), (3, 4)]))
    for n in (999, 1000, 1001):
        add("set_%d" % n, set(range(n)), [2, 4])
    add("frozenset_empty", frozenset())
    add("frozenset_small", frozenset([1, 2, 3]))
    add("frozenset_1000", frozenset(range(1000)), [2, 4])
    add("frozenset_nested", frozenset([frozenset([1]), (2, 3)]))
    add("complex", complex(1, 2))
    add("complex_list", [complex(0, -1.5), complex(float("inf"), 0)])

    s = u"shared"
    lst = [1, 2]
    tup = (u"t", 1)
    by = b"bb"
    add("shared", [s, s, lst, lst, tup, tup, (lst,), {u"k": lst}, by, by])
    d = {u"x": 1}
    add("shared_dict", {u"a": d, u"b": d, u"c": [d, d]})
    rec_list = []
    rec_list.append(rec_list)
    add("recursive_list", rec_list)
    rec_dict = {}
    rec_dict[u"self"] = rec_dict
    add("recursive_dict", rec_dict)
    h = []
    t = (h, 1)
    h.append(t)
    add("recursive_tuple_2", t)
    h4 = []
    t4 = (h4, 1, 2, 3)
    h4.append(t4)
    add("recursive_tuple_4", t4)
    h1 = []
    t1 = (h1,)
    h1.append(t1)
    add("recursive_tuple_in_list", [t1, h1])
    mutual_a = []
    mutual_b = [mutual_a]
    mutual_a.append(mutual_b)
    add("recursive_mutual", [mutual_a, mutual_b])
    deep = []
    cur = deep
    for _ in range(200):
        nxt = []
        cur.append(nxt)
        cur = nxt
    add("nested_list_200", deep)
    deepd = {}
    cur = deepd
    for i in range(60):
        nxt = {}
        cur[u"k%d" % i] = nxt
        cur = nxt
    add("nested_dict_60", deepd)
    # More than 256 memo entries: LONG_BINPUT / LONG_BINGET below protocol 4.
    strs = [u"s%d" % i for i in range(300)]
    add("memo_over_256", strs + strs)
    add("nested_mixed", {u"list": [1, (2, [3, {u"four": set([4])}])], u"t": (frozenset([5]),)})
    # Frame edges (protocol 4+ only, to keep the fixtures small).
    big = [4, 5]
    add("frame_three_30000", [u"a" * 30000, u"b" * 30000, u"c" * 30000], big)
    add("frame_unframed_bytes", [b"a" * 10, b"b" * 70000, 1, 2, 3], big)
    add("frame_unframed_str", [u"x" * 65536, u"y" * 65535], big)
    add("frame_many_small", [u"item%d" % i for i in range(7000)], big)
    add("frame_bytearray_70000", bytearray(b"z" * 70000), [5])
    return cases


def symbolic_cases():
    """Objects that loading rebuilds through globals and calls (no JSON plain view)."""
    cases = []
    od = collections.OrderedDict()
    od[u"a"] = 1
    od[u"b"] = [2]
    cases.append(("sym_ordereddict", od, None))
    cases.append(("sym_globals", [collections.OrderedDict, len, Point], None))
    cases.append(("sym_datetime", [datetime.datetime(2020, 1, 2, 3, 4, 5, 6), datetime.date(1999, 12, 31),
                                   datetime.timedelta(days=1, seconds=2)], None))
    p = Point(1, u"y")
    cases.append(("sym_instance", p, None))
    cases.append(("sym_instance_shared", [p, p], None))
    dd = collections.defaultdict(list)
    dd[u"k"].append(1)
    cases.append(("sym_defaultdict", dd, None))
    return cases


def picklers():
    """(impl name, dumps(obj, proto)) for this interpreter."""
    if PY2:
        import cPickle

        return [("c", lambda o, p: cPickle.dumps(o, p)), ("py", lambda o, p: pickle.dumps(o, p))]

    def py_dumps(o, p):
        f = io.BytesIO()
        pickle._Pickler(f, p).dump(o)
        return f.getvalue()

    return [("c", lambda o, p: pickle.dumps(o, p)), ("py", py_dumps)]


# ---------------------------------------------------------------------------------------------
# JSON views (see tests/fixtures/pickle/README.md)

def float_repr(x):
    return repr(float(x))


def text_json(s):
    return s


def view(obj, mode, sort_sets):
    """The JSON view of a loaded plain object.

    mode 'loaded': {"ref": n} for containers seen before (lists, dicts, sets, bytearrays, non-empty
    tuples and frozensets); mode 'source': for everything but None, bools, ints, floats and the empty
    tuple (everything the pickler may memoize), so the writer tests can rebuild the exact identity
    graph. Ids count ref-able objects in
    depth-first pre-order. sort_sets: order set elements by their standalone compact JSON text.
    """
    seen = {}
    keep = []  # keep objects alive so id()s stay unique

    def refable(o):
        if o is None or isinstance(o, (bool, float) + int_types) or (type(o) is tuple and not o):
            return False
        if mode == "source":
            return True
        if isinstance(o, (list, dict, set, bytearray)):
            return True
        if isinstance(o, (tuple, frozenset)):
            return len(o) > 0
        return False

    def go(o):
        if refable(o):
            if id(o) in seen:
                return {"ref": seen[id(o)]}
            seen[id(o)] = len(seen)
            keep.append(o)
        if o is None:
            return None
        if o is True:
            return True
        if o is False:
            return False
        if isinstance(o, int_types):
            return {"int": str(o)}
        if isinstance(o, float):
            return {"float": float_repr(o)}
        if isinstance(o, complex):
            return {"complex": [float_repr(o.real), float_repr(o.imag)]}
        if isinstance(o, text_type):
            return {"str": o}
        if isinstance(o, bytes):
            return {"bytes": binascii.hexlify(o).decode("ascii")}
        if isinstance(o, bytearray):
            return {"bytearray": binascii.hexlify(bytes(o)).decode("ascii")}
        if type(o) is tuple:
            return {"tuple": [go(x) for x in o]}
        if type(o) is list:
            return {"list": [go(x) for x in o]}
        if type(o) is dict:
            out = []
            for k, v in o.items():
                kk = go(k)
                out.append([kk, go(v)])
            return {"dict": out}
        if type(o) in (set, frozenset):
            items = list(o)
            if sort_sets:
                items.sort(key=lambda x: dumps_json(view(x, mode, True)))
            tag = "set" if type(o) is set else "frozenset"
            return {tag: [go(x) for x in items]}
        raise TypeError("not plain data: %r" % type(o))

    return go(obj)


def dumps_json(v):
    return json.dumps(v, ensure_ascii=True, separators=(",", ":"))


def write_json(path, v):
    """Stable, readable JSON: one top-level document, keys sorted, newline at the end."""
    with open(path, "w") as f:
        f.write(json.dumps(v, ensure_ascii=True, indent=1, separators=(",", ": "), sort_keys=True))
        f.write("\n")


def write_compact(path, v):
    """A view document {"value": VIEW} on one line (compact, ASCII), newline at the end."""
    with open(path, "w") as f:
        f.write(dumps_json(v))
        f.write("\n")


def write_genops(path, g):
    """{"error": ..., "ops": [[name, arg, pos], ...]} with one op per line."""
    with open(path, "w") as f:
        f.write('{"error": %s, "ops": [' % dumps_json(g["error"]))
        for i, op in enumerate(g["ops"]):
            f.write("\n" if i == 0 else ",\n")
            f.write(dumps_json(op))
        f.write("\n]}\n")


def is_plain(obj):
    try:
        sys.setrecursionlimit(20000)
        view(obj, "loaded", False)
        return True
    except TypeError:
        return False


# ---------------------------------------------------------------------------------------------
# dump

def max_protocol():
    return pickle.HIGHEST_PROTOCOL


def cmd_dump(tmp):
    sys.setrecursionlimit(20000)
    outdir = os.path.join(tmp, LABEL)
    if not os.path.isdir(outdir):
        os.makedirs(outdir)
    manifest = {"interpreter": LABEL, "version": sys.version.split()[0], "streams": [], "errors": [],
                "cases": {}}
    all_cases = [(n, o, p, "plain") for (n, o, p) in plain_cases()]
    all_cases += [(n, o, p, "symbolic") for (n, o, p) in symbolic_cases()]
    for name, obj, protos, kind in all_cases:
        manifest["cases"][name] = kind
        if kind == "plain" and not PY2:
            # The source view: the object as the pickler sees it (set order = iteration order here).
            write_compact(os.path.join(outdir, name + ".value.json"), {"value": view(obj, "source", False)})
        for impl, dumps in picklers():
            for proto in range(0, max_protocol() + 1):
                if protos is not None and proto not in protos:
                    continue
                try:
                    data = dumps(obj, proto)
                except Exception as e:  # e.g. the 4300-digit limit at protocol 0/1
                    manifest["errors"].append({"case": name, "impl": impl, "protocol": proto,
                                               "error": "%s: %s" % (type(e).__name__, e)})
                    continue
                fname = "%s.%s.p%d.pickle" % (name, impl, proto)
                with open(os.path.join(outdir, fname), "wb") as f:
                    f.write(data)
                entry = {"case": name, "impl": impl, "protocol": proto, "file": fname}
                if kind == "plain":
                    # Sanity: this interpreter loads its own output back to the same data.
                    back = pickle.loads(data)
                    same = dumps_json(view(back, "loaded", True)) == dumps_json(view(obj, "loaded", True))
                    entry["reloads_equal"] = same
                manifest["streams"].append(entry)
    write_json(os.path.join(outdir, "manifest.json"), manifest)


# ---------------------------------------------------------------------------------------------
# malformed

def crafted_malformed():
    """Our own malformed or edge-case streams (name, hex)."""
    def frame(n):
        return "95" + binascii.hexlify(bytearray((n >> (8 * i)) & 0xFF for i in range(8))).decode("ascii")

    out = [
        ("brine: frame longer than the data", "8004" + frame(5) + "4b012e"),
        ("brine: frame shorter than its opcodes (straddle)", "8004" + frame(1) + "4b012e"),
        ("brine: frame inside a frame", "8004" + frame(12) + frame(3) + "4b012e"),
        ("brine: frame length 2**63", "8004" + frame(2 ** 63) + "4b012e"),
        ("brine: frame length 2**64-1", "8004" + frame(2 ** 64 - 1) + "4b012e"),
        ("brine: truncated FRAME header", "8004" + "9505000000"),
        ("brine: FRAME 0 then data", "8004" + frame(0) + "4b012e"),
        ("brine: two frames", "8004" + frame(2) + "4b01" + frame(1) + "2e"),
        ("brine: BINGET of a missing key", "8004" + "6805" + "2e"),
        ("brine: LONG_BINGET of a missing key", "8004" + "6a00010000" + "2e"),
        ("brine: GET text not a number", "67787878" + "0a" + "2e"),
        ("brine: PUT negative", "4b01" + "702d310a" + "2e"),
        ("brine: MEMOIZE on empty stack", "8004942e"),
        ("brine: MEMOIZE above a mark", "8004" + "28" + "94" + "2e"),
        ("brine: BINPUT overwrite then BINGET", "8002" + "4b01" + "7100" + "4b02" + "7100" + "6800" + "2e"),
        ("brine: MEMOIZE after PUT 5", "8004" + "4b01" + "7105" + "4b02" + "94" + "6801" + "2e"),
        ("brine: deep nesting 100000 lists", "8002" + "5d" * 100000 + "61" * 99999 + "2e"),
        ("brine: 100000 marks", "28" * 100000 + "4e2e"),
        ("brine: deep nesting 50000 tuples", "8002" + "4e" + "85" * 50000 + "2e"),
        ("brine: trailing garbage after STOP", "4b012e" + "ffff"),
        ("brine: APPENDS on a tuple", "8002" + "29" + "28" + "4b01" + "65" + "2e"),
        ("brine: SETITEM on a list", "8002" + "5d" + "4b01" + "4b02" + "73" + "2e"),
    ]
    return out


def verdict(loads, data):
    try:
        obj = loads(data)
    except Exception as e:
        msg = str(e)
        return {"ok": False, "exc": type(e).__name__, "msg": msg}
    except RecursionError as e:  # pragma: no cover - covered by Exception on 3.x
        return {"ok": False, "exc": type(e).__name__, "msg": str(e)}
    out = {"ok": True}
    try:
        out["value"] = view(obj, "loaded", True)
    except (TypeError, RecursionError):
        out["value"] = None
    return out


def cmd_malformed(spec_path, out_path):
    sys.setrecursionlimit(3000)
    with open(spec_path) as f:
        spec = json.load(f)
    cases = [(c["name"], c["hex"], "spec") for c in spec["cases"]]
    cases += [(n, h, "brine") for (n, h) in crafted_malformed()]
    py_loads = pickle._loads if hasattr(pickle, "_loads") else None
    out = []
    for name, hexdata, source in cases:
        data = binascii.unhexlify(hexdata)
        out.append({"name": name, "source": source,
                    "c": verdict(pickle.loads, data),
                    "py": verdict(py_loads, data)})
    with open(out_path, "w") as f:
        json.dump({"interpreter": LABEL, "results": out}, f)


# ---------------------------------------------------------------------------------------------
# analyze (3.13)

def genops_json(data):
    import pickletools

    ops = []
    error = None
    try:
        for op, arg, pos in pickletools.genops(data):
            ops.append([op.name, arg_json(arg), pos])
    except Exception as e:
        error = "%s: %s" % (type(e).__name__, e)
    return {"ops": ops, "error": error}


def arg_json(arg):
    if arg is None:
        return None
    if arg is True or arg is False:
        return arg
    if isinstance(arg, int):
        return {"int": str(arg)}
    if isinstance(arg, float):
        return {"float": float_repr(arg)}
    if isinstance(arg, str):
        return {"str": arg}
    if isinstance(arg, bytes):
        return {"bytes": binascii.hexlify(arg).decode("ascii")}
    if isinstance(arg, bytearray):
        return {"bytearray": binascii.hexlify(bytes(arg)).decode("ascii")}
    raise TypeError("unexpected genops argument %r" % (arg,))


def dis_text(data, **kw):
    import pickletools

    out = io.StringIO()
    error = None
    try:
        pickletools.dis(data, out=out, **kw)
    except Exception as e:
        error = "%s: %s" % (type(e).__name__, e)
    return out.getvalue(), error


def loaded_view(data, interp):
    """CPython 3.13's view of pickle.loads(data); Python 2 str loads as bytes (encoding='bytes')."""
    kw = {"encoding": "bytes"} if interp == "2.7" else {}
    try:
        obj = pickle.loads(data, **kw)
    except Exception as e:
        return None, "%s: %s" % (type(e).__name__, e)
    try:
        return view(obj, "loaded", True), None
    except TypeError as e:
        return None, "not plain data (%s)" % e


# ---------------------------------------------------------------------------------------------
# Structural view of symbolic streams (3.13): a stack machine over pickletools.genops that builds
# nodes without importing or calling anything, rendered in the VALUE schema with the symbolic
# forms (global, call, build, persid, ext, buffer). See README.md.

class SymNode(object):
    def __init__(self, kind, **kw):
        self.kind = kind
        self.__dict__.update(kw)
        self.log = []  # mutations in stream order: (what, payload)


def sym_machine(data):
    import _compat_pickle
    import pickletools

    stack = []
    marks = []
    memo = {}
    proto = [0]

    def pop_mark():
        m = marks.pop()
        items = stack[m:]
        del stack[m:]
        return items

    def atom(view):
        return SymNode("atom", view=view)

    for op, arg, pos in pickletools.genops(data):
        name = op.name
        if name == "MARK":
            marks.append(len(stack))
        elif name == "STOP":
            return stack.pop()
        elif name == "POP":
            if marks and marks[-1] == len(stack):
                marks.pop()
            else:
                stack.pop()
        elif name == "POP_MARK":
            pop_mark()
        elif name == "DUP":
            stack.append(stack[-1])
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[arg] = stack[-1]
        elif name == "MEMOIZE":
            memo[len(memo)] = stack[-1]
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            stack.append(memo[arg])
        elif name == "PROTO":
            proto[0] = arg
        elif name == "FRAME":
            pass
        elif name == "NONE":
            stack.append(atom(None))
        elif name in ("NEWTRUE", "NEWFALSE"):
            stack.append(atom(name == "NEWTRUE"))
        elif name in ("INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4"):
            stack.append(atom(arg if isinstance(arg, bool) else {"int": str(arg)}))
        elif name in ("FLOAT", "BINFLOAT"):
            stack.append(atom({"float": float_repr(arg)}))
        elif name in ("STRING", "BINSTRING", "SHORT_BINSTRING"):
            raw = arg.encode("latin-1")
            stack.append(SymNode("bytes", data=raw))
        elif name in ("UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8"):
            stack.append(SymNode("str", text=arg))
        elif name in ("BINBYTES", "SHORT_BINBYTES", "BINBYTES8"):
            stack.append(SymNode("bytes", data=arg))
        elif name == "BYTEARRAY8":
            stack.append(SymNode("bytearray", data=bytes(arg)))
        elif name == "EMPTY_TUPLE":
            stack.append(SymNode("tuple", items=[]))
        elif name == "TUPLE":
            stack.append(SymNode("tuple", items=pop_mark()))
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            n = int(name[-1])
            items = stack[-n:]
            del stack[-n:]
            stack.append(SymNode("tuple", items=items))
        elif name == "EMPTY_LIST":
            stack.append(SymNode("list", items=[]))
        elif name == "LIST":
            stack.append(SymNode("list", items=pop_mark()))
        elif name == "EMPTY_DICT":
            stack.append(SymNode("dict", pairs=[]))
        elif name == "DICT":
            items = pop_mark()
            stack.append(SymNode("dict", pairs=list(zip(items[0::2], items[1::2]))))
        elif name == "EMPTY_SET":
            stack.append(SymNode("set", items=[]))
        elif name == "FROZENSET":
            stack.append(SymNode("frozenset", items=pop_mark()))
        elif name in ("APPEND", "APPENDS", "SETITEM", "SETITEMS", "ADDITEMS"):
            if name in ("APPEND", "SETITEM"):
                n = 1 if name == "APPEND" else 2
                items = stack[-n:]
                del stack[-n:]
            else:
                items = pop_mark()
            target = stack[-1]
            if name.startswith("APPEND"):
                if target.kind == "list":
                    target.items.extend(items)
                else:
                    target.log.append(("list", items))
            elif name.startswith("SETITEM"):
                pairs = list(zip(items[0::2], items[1::2]))
                if target.kind == "dict":
                    target.pairs.extend(pairs)
                else:
                    target.log.append(("dict", pairs))
            else:
                if target.kind == "set":
                    target.items.extend(items)
                else:
                    target.log.append(("set", items))
        elif name in ("GLOBAL", "STACK_GLOBAL", "INST"):
            if name == "STACK_GLOBAL":
                nm = stack.pop()
                md = stack.pop()
                module, qual = md.text, nm.text
            else:
                module, qual = arg.split(" ", 1)
            if proto[0] < 3:
                if (module, qual) in _compat_pickle.NAME_MAPPING:
                    module, qual = _compat_pickle.NAME_MAPPING[(module, qual)]
                elif module in _compat_pickle.IMPORT_MAPPING:
                    module = _compat_pickle.IMPORT_MAPPING[module]
            glob = SymNode("global", module=module, name=qual)
            if name == "INST":
                args = SymNode("tuple", items=pop_mark())
                stack.append(SymNode("call", how="inst", func=glob, args=args, kwargs=None))
            else:
                stack.append(glob)
        elif name == "REDUCE":
            args = stack.pop()
            func = stack.pop()
            stack.append(SymNode("call", how="reduce", func=func, args=args, kwargs=None))
        elif name == "NEWOBJ":
            args = stack.pop()
            cls = stack.pop()
            stack.append(SymNode("call", how="newobj", func=cls, args=args, kwargs=None))
        elif name == "NEWOBJ_EX":
            kwargs = stack.pop()
            args = stack.pop()
            cls = stack.pop()
            stack.append(SymNode("call", how="newobj_ex", func=cls, args=args, kwargs=kwargs))
        elif name == "OBJ":
            items = pop_mark()
            args = SymNode("tuple", items=items[1:])
            stack.append(SymNode("call", how="obj", func=items[0], args=args, kwargs=None))
        elif name == "BUILD":
            state = stack.pop()
            stack[-1].log.append(("build", state))
        elif name == "PERSID":
            stack.append(SymNode("persid", pid=SymNode("str", text=arg)))
        elif name == "BINPERSID":
            stack.append(SymNode("persid", pid=stack.pop()))
        elif name in ("EXT1", "EXT2", "EXT4"):
            stack.append(atom({"ext": arg}))
        elif name == "NEXT_BUFFER":
            stack.append(atom({"buffer": 0}))
        elif name == "READONLY_BUFFER":
            stack.append(SymNode("readonly", of=stack.pop()))
        else:
            raise ValueError("unhandled opcode %s" % name)
    raise ValueError("no STOP")


def sym_plain(n):
    """The CPython reduce forms the view shows as plain values (same rules as the Rust view)."""
    if n.kind != "call" or n.how != "reduce" or n.log:
        return None
    f, a = n.func, n.args
    if f.kind != "global" or a.kind != "tuple":
        return None
    args = a.items
    builtin = f.module in ("builtins", "__builtin__")

    def text(x):
        if x.kind == "str":
            return x.text
        if x.kind == "bytes":
            try:
                return x.data.decode("utf-8")
            except UnicodeDecodeError:
                return None
        return None

    def latin1(x):
        if x.kind != "str":
            return None
        try:
            return x.text.encode("latin-1")
        except UnicodeEncodeError:
            return None

    def as_bytes(x):
        if x.kind == "bytes":
            return x.data
        p = sym_plain(x)
        if p is not None and p[0] == "bytes":
            return p[1]
        return None

    if builtin and f.name in ("set", "frozenset"):
        if not args:
            return (f.name, [])
        if len(args) == 1 and args[0].kind == "list" and not args[0].log:
            return (f.name, args[0].items)
        return None
    if builtin and f.name == "bytearray":
        if not args:
            return ("bytearray", b"")
        if len(args) == 1:
            b = as_bytes(args[0])
            return None if b is None else ("bytearray", b)
        if len(args) == 2 and text(args[1]) in ("latin-1", "latin1"):
            b = latin1(args[0])
            return None if b is None else ("bytearray", b)
        return None
    if builtin and f.name == "bytes" and not args:
        return ("bytes", b"")
    if builtin and f.name == "complex" and len(args) == 2:
        nums = []
        for x in args:
            v = x.view if x.kind == "atom" else None
            if isinstance(v, dict) and "float" in v:
                nums.append(v["float"])
            elif isinstance(v, dict) and "int" in v:
                nums.append(float_repr(float(int(v["int"]))))
            else:
                return None
        return ("complex", nums)
    if f.module == "_codecs" and f.name == "encode" and len(args) == 2 and text(args[1]) == "latin1":
        b = latin1(args[0])
        return None if b is None else ("bytes", b)
    return None


def sym_view(root):
    ids = {}

    def hexs(b):
        return binascii.hexlify(b).decode("ascii")

    def refable(n, plain):
        if plain is not None:
            return plain[0] in ("set", "bytearray") or (plain[0] == "frozenset" and len(plain[1]) > 0)
        if n.kind in ("list", "dict", "set", "bytearray", "global", "call"):
            return True
        if n.kind in ("tuple", "frozenset"):
            return len(n.items) > 0
        return False

    def sorted_items(items):
        keyed = [(dumps_json(sym_view(x)), x) for x in items]
        keyed.sort(key=lambda kx: kx[0])
        return [go(x) for _, x in keyed]

    def effective(pairs):
        out = []
        index = {}
        for k, v in pairs:
            key = dumps_json(k.view) if k.kind == "atom" else (
                ("s", k.text) if k.kind == "str" else ("b", k.data) if k.kind == "bytes" else id(k))
            if not isinstance(key, (str, tuple, int)):
                key = id(k)
            if key in index:
                out[index[key]] = (out[index[key]][0], v)
            else:
                index[key] = len(out)
                out.append((k, v))
        return out

    def go(n):
        plain = sym_plain(n)
        if refable(n, plain):
            if id(n) in ids:
                return {"ref": ids[id(n)]}
            ids[id(n)] = len(ids)
        if plain is not None:
            tag, val = plain
            if tag in ("set", "frozenset"):
                return {tag: sorted_items(val)}
            if tag in ("bytes", "bytearray"):
                return {tag: hexs(val)}
            return {"complex": val}
        k = n.kind
        if k == "atom":
            return n.view
        if k == "str":
            return {"str": n.text}
        if k in ("bytes", "bytearray"):
            return {k: hexs(n.data)}
        if k in ("tuple", "list"):
            return {k: [go(x) for x in n.items]}
        if k in ("set", "frozenset"):
            return {k: sorted_items(n.items)}
        if k == "dict":
            return {"dict": [[go(a), go(b)] for a, b in effective(n.pairs)]}
        if k == "global":
            return {"global": [n.module, n.name]}
        if k == "persid":
            return {"persid": go(n.pid)}
        if k == "readonly":
            return {"readonly": go(n.of)}
        if k == "call":
            fields = {"kind": n.how, "func": go(n.func), "args": go(n.args)}
            if n.kwargs is not None:
                fields["kwargs"] = go(n.kwargs)
            lst, dct, st, states = [], [], [], []
            for what, payload in n.log:
                if what == "list":
                    lst.extend(go(x) for x in payload)
                elif what == "dict":
                    dct.extend([go(a), go(b)] for a, b in payload)
                elif what == "set":
                    st.extend(go(x) for x in payload)
                else:
                    states.append(go(payload))
            if lst:
                fields["listitems"] = lst
            if dct:
                fields["dictitems"] = dct
            if st:
                fields["setitems"] = st
            out = {"call": dict(sorted(fields.items()))}
            for state in states:
                out = {"build": {"obj": out, "state": state}}
            return out
        raise TypeError(k)

    return go(root)


def symbolic_view(data):
    try:
        return sym_view(sym_machine(data)), None
    except Exception as e:
        return None, "%s: %s" % (type(e).__name__, e)


# Annotated disassemblies only for streams up to this size (keeps the fixtures small).
ANNOTATE_MAX = 4096


def cmd_analyze(tmp, final):
    sys.setrecursionlimit(20000)
    interps = sorted(d for d in os.listdir(tmp) if os.path.isfile(os.path.join(tmp, d, "manifest.json")))
    # Newest first: 3.13 streams keep their own names, older duplicates become aliases.
    interps.sort(key=lambda s: tuple(int(x) for x in s.split(".")), reverse=True)
    cases = {}
    streams = []
    by_bytes = {}
    dump_errors = []
    for interp in interps:
        with open(os.path.join(tmp, interp, "manifest.json")) as f:
            man = json.load(f)
        for name, kind in man["cases"].items():
            cases.setdefault(name, {"kind": kind})
        for err in man["errors"]:
            err = dict(err)
            err["interpreter"] = interp
            dump_errors.append(err)
        for e in man["streams"]:
            with open(os.path.join(tmp, interp, e["file"]), "rb") as f:
                data = f.read()
            key = (e["case"], data)
            entry = {"interpreter": interp, "impl": e["impl"], "protocol": e["protocol"],
                     "case": e["case"]}
            if "reloads_equal" in e:
                entry["reloads_equal"] = e["reloads_equal"]
            if key in by_bytes:
                entry["file"] = by_bytes[key]
                streams.append(entry)
                continue
            stem = "%s/%s.%s.p%d" % (e["case"], interp, e["impl"], e["protocol"])
            by_bytes[key] = stem
            entry["file"] = stem
            entry["new"] = True
            streams.append(entry)
            casedir = os.path.join(final, e["case"])
            if not os.path.isdir(casedir):
                os.makedirs(casedir)
            base = os.path.join(final, stem)
            with open(base + ".pickle", "wb") as f:
                f.write(data)
            text, err = dis_text(data)
            with io.open(base + ".dis.txt", "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
            entry["dis_error"] = err
            if len(data) <= ANNOTATE_MAX:
                text, err = dis_text(data, annotate=30, indentlevel=2)
                with io.open(base + ".annotated.txt", "w", encoding="utf-8", newline="\n") as f:
                    f.write(text)
                entry["annotated"] = True
                entry["annotated_error"] = err
            write_genops(base + ".genops.json", genops_json(data))
            if cases[e["case"]]["kind"] == "plain":
                v, err = loaded_view(data, interp)
            else:
                v, err = symbolic_view(data)
            if v is not None:
                write_compact(base + ".json", {"value": v})
                entry["view"] = True
            else:
                entry["view"] = False
                entry["view_error"] = err
        if interp == "3.13":
            for name in man["cases"]:
                src = os.path.join(tmp, interp, name + ".value.json")
                if os.path.isfile(src):
                    with open(src) as f:
                        v = json.load(f)
                    casedir = os.path.join(final, name)
                    if not os.path.isdir(casedir):
                        os.makedirs(casedir)
                    write_compact(os.path.join(casedir, "value.json"), v)
    for e in streams:
        if not e.pop("new", False):
            for k in ("dis_error", "annotated", "annotated_error", "view", "view_error"):
                e.pop(k, None)
    streams.sort(key=lambda e: (e["case"], -int(e["interpreter"].split(".")[0]),
                                -int(e["interpreter"].split(".")[1]), e["impl"], e["protocol"]))
    write_json(os.path.join(final, "index.json"),
               {"_about": "Pickle fixtures; see README.md. Generated by cargo xtask fixtures pickle.",
                "cases": cases, "streams": streams, "dump_errors": dump_errors})
    # Malformed verdicts
    merged = None
    for interp in interps:
        p = os.path.join(tmp, interp, "malformed.json")
        if not os.path.isfile(p):
            continue
        with open(p) as f:
            res = json.load(f)["results"]
        if merged is None:
            merged = [{"name": r["name"], "source": r["source"], "verdicts": {}} for r in res]
        for m, r in zip(merged, res):
            m["verdicts"][interp + ".c"] = r["c"]
            m["verdicts"][interp + ".py"] = r["py"]
    if merged is not None:
        spec_hex = {}
        with open(os.path.join(tmp, "spec_path.txt")) as f:
            spec_path = f.read().strip()
        with open(spec_path) as f:
            for c in json.load(f)["cases"]:
                spec_hex[c["name"]] = c["hex"]
        crafted = dict(crafted_malformed())
        for m in merged:
            m["hex"] = spec_hex.get(m["name"], crafted.get(m["name"]))
        write_json(os.path.join(final, "malformed.json"),
                   {"_about": "Malformed and edge-case pickle streams with the live verdicts of CPython's C "
                              "(pickle.loads) and pure-Python (pickle._loads) unpicklers. See README.md.",
                    "cases": merged})


def main(argv):
    if argv[0] == "dump":
        cmd_dump(argv[1])
    elif argv[0] == "malformed":
        cmd_malformed(argv[1], argv[2])
    elif argv[0] == "analyze":
        cmd_analyze(argv[1], argv[2])
    else:
        raise SystemExit("unknown command %r" % argv[0])


if __name__ == "__main__":
    main(sys.argv[1:])
