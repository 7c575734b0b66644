"""Live oracle for pickle-core's disassembler tests: prints JSON with, for each stream, what
CPython's pickletools.dis prints (default options, annotate=30, indentlevel=2) and the
exception it raises. Streams: a corpus pickled at protocols 0-5 with the C and Python
picklers, plus the malformed streams of unpickler_errors_cpython311.json (passed on stdin)."""
import collections, datetime, decimal, io, json, pickle, pickletools, sys


class Plain:
    def __init__(self):
        self.a = 1
        self.b = [1, 2]


class Slots:
    __slots__ = ("x",)

    def __init__(self):
        self.x = 5


def corpus():
    rec = []
    rec.append(rec)
    shared = ["shared"]
    objs = [
        None, True, False, 0, 1, 255, 256, 65535, 65536, -1, -256, 2**31 - 1, -2**31, 2**31,
        -2**31 - 1, 2**63, -2**63, 2**100, -2**70, 127, 128, -128, -129,
        0.0, -0.0, 0.1, 1.5e-5, 1e16, 1e15, 1e-300, float("inf"), float("-inf"), float("nan"),
        123456789.123, "", "abc", "a'b", 'a"b', "a'\"b", "\u00e9", "\u20ac", "\U0001f600",
        "\ud800", "\x00\n\t\\\r\x1a", "x" * 300, "\u0085\u00a0\u2028", b"", b"abc\x00\xff'",
        bytearray(b"ba"), (), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), [], [1], [1, "a", (2,)],
        {}, {"a": 1, "b": [1, 2]}, {1, 2, 3}, frozenset([1]), frozenset(), rec,
        [shared, shared], collections.OrderedDict(a=1), collections.defaultdict(list, a=[1]),
        datetime.date(2020, 1, 2), decimal.Decimal("1.5"), complex(1, 2), Plain(), Slots(),
        list(range(1001)), {i: i for i in range(5)}, type(None), len, collections.OrderedDict.fromkeys,
    ]
    for obj in objs:
        for proto in range(6):
            for dumps in (pickle.dumps, pickle._dumps):
                try:
                    yield dumps(obj, proto)
                except Exception:
                    pass


def run(data, **kw):
    out = io.StringIO()
    try:
        pickletools.dis(data, out, **kw)
        return {"text": out.getvalue(), "exc": None, "msg": None}
    except Exception as e:
        return {"text": out.getvalue(), "exc": type(e).__name__, "msg": str(e)}


streams = list(dict.fromkeys(corpus()))
extra = json.load(sys.stdin)
streams += [bytes.fromhex(h) for h in extra]
result = []
for data in streams:
    result.append({
        "hex": data.hex(),
        "default": run(data),
        "annotate30": run(data, annotate=30),
        "indent2": run(data, indentlevel=2),
    })
json.dump(result, sys.stdout)
