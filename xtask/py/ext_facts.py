# -*- coding: utf-8 -*-
"""What CPython reports about a shipped function, class or module, as JSON; and the
behavioural checks run on the original objects and on the objects reloaded in a fresh process.

Shared by ext_samples.py (producer side, where the samples live in __main__) and ext_load.py
(the fresh loader process, which does not define the samples). Python 2.7 and 3.6+.

JSON shapes (documented in tests/fixtures/ext/README.md):

* VALUE: null | true | false | {"int": "<decimal>"} | {"float": "<repr>"} |
  {"complex": ["<repr>", "<repr>"]} | {"str": text} | {"bytes": "<hex>"} | {"tuple": [...]} |
  {"list": [...]} | {"set": [...]} | {"frozenset": [...]} | {"dict": [[k, v], ...]} |
  {"ellipsis": true} | {"stopiteration": true} | {"slice": [a, b, c]} | {"code": CODE}.
  Facts extend it with references to non-literal objects: {"function": {"module", "qualname"}},
  {"class": {"module", "qualname"}}, {"module": name}, {"instance": {"class": ..., "state": ...}},
  {"cell": ...}, {"object": {"type": "<module>.<qualname>"}}, {"recursion": true}.
* CODE: an object with every non-callable co_* attribute the interpreter has, in sorted order:
  ints as JSON numbers, names as JSON strings, name tuples as JSON arrays of strings, bytes
  fields (co_code, co_lnotab, co_linetable, co_exceptiontable) as hex strings, co_consts as an
  array of VALUEs.
"""

import json
import sys
import types
import warnings
from collections import OrderedDict

PY2 = sys.version_info[0] == 2

if PY2:
    text_type = unicode  # noqa: F821
    bytes_type = str
    int_types = (int, long)  # noqa: F821
else:
    text_type = str
    bytes_type = bytes
    int_types = (int,)


def od(*pairs):
    return OrderedDict(pairs)


def hexlify(b):
    return "".join("%02x" % c for c in bytearray(b))


def text(s):
    """A str/unicode as JSON text (py2 byte strings are decoded as latin-1)."""
    if isinstance(s, bytes_type) and PY2:
        return s.decode("latin-1")
    return s


CODE_BYTES_FIELDS = ("co_code", "co_lnotab", "co_linetable", "co_exceptiontable")


def code_json(co):
    """Every non-callable co_* attribute, sorted by name."""
    out = OrderedDict()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # co_lnotab is deprecated on 3.12+
        for name in sorted(dir(co)):
            if not name.startswith("co_"):
                continue
            try:
                v = getattr(co, name)
            except Exception:  # pragma: no cover - attribute exists but cannot be read
                continue
            if callable(v):
                continue
            if name in CODE_BYTES_FIELDS:
                out[name] = hexlify(v)
            elif name == "co_consts":
                out[name] = [value_json(c) for c in v]
            elif isinstance(v, tuple):
                out[name] = [text(x) for x in v]
            elif isinstance(v, bool):
                out[name] = v
            elif isinstance(v, int_types):
                out[name] = int(v)
            elif isinstance(v, (bytes_type, text_type)):
                out[name] = text(v)
            else:
                out[name] = value_json(v)
    return out


def canonical(view):
    """Compact JSON text used to order set elements (same rule as marshal_fixtures.py)."""
    return json.dumps(view, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def qualname(obj):
    return text(getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or "?")


def type_ref(t):
    return od(("module", text(getattr(t, "__module__", None) or "?")), ("qualname", qualname(t)))


def value_json(v, depth=0):
    """VALUE (literals) extended with references for everything else."""
    if depth > 40:
        return {"recursion": True}
    d = depth + 1
    if v is None or v is True or v is False:
        return v
    if isinstance(v, int_types) and not isinstance(v, bool):
        return {"int": str(v)}
    if isinstance(v, float):
        return {"float": repr(v)}
    if isinstance(v, complex):
        return {"complex": [repr(v.real), repr(v.imag)]}
    if isinstance(v, bytes_type):
        return {"bytes": hexlify(v)}
    if isinstance(v, text_type):
        return {"str": v}
    if type(v) is tuple:
        return {"tuple": [value_json(x, d) for x in v]}
    if type(v) is list:
        return {"list": [value_json(x, d) for x in v]}
    if type(v) is set or type(v) is frozenset:
        # Sorted by canonical JSON, as marshal_fixtures.py does (iteration order is not a fact).
        items = sorted((value_json(x, d) for x in v), key=canonical)
        return {("set" if type(v) is set else "frozenset"): items}
    if type(v) is dict or type(v) is OrderedDict:
        return {"dict": [[value_json(k, d), value_json(x, d)] for k, x in v.items()]}
    if v is Ellipsis:
        return {"ellipsis": True}
    if v is StopIteration:
        return {"stopiteration": True}
    if type(v) is slice:
        return {"slice": [value_json(v.start, d), value_json(v.stop, d), value_json(v.step, d)]}
    if isinstance(v, types.CodeType):
        return {"code": code_json(v)}
    if isinstance(v, types.FunctionType):
        return {"function": type_ref(v)}
    if isinstance(v, type) or (PY2 and isinstance(v, types.ClassType)):  # noqa
        return {"class": type_ref(v)}
    if isinstance(v, types.ModuleType):
        return {"module": text(v.__name__)}
    if isinstance(v, (classmethod, staticmethod)):
        return {type(v).__name__: value_json(v.__func__, d)}
    if isinstance(v, property):
        return {"property": [value_json(v.fget, d), value_json(v.fset, d), value_json(v.fdel, d)]}
    if type(v).__module__ == "__main__" and hasattr(v, "__dict__"):
        return {"instance": od(("class", type_ref(type(v))), ("state", value_json(dict(v.__dict__), d)))}
    return {"object": {"type": "%s.%s" % (text(type(v).__module__), qualname(type(v)))}}


def code_names(co):
    """co_names of a code object and of the code objects nested in its constants."""
    names = []
    stack = [co]
    while stack:
        c = stack.pop()
        for n in c.co_names:
            if n not in names:
                names.append(n)
        stack.extend(x for x in c.co_consts if isinstance(x, types.CodeType))
    return names


def cell_json(cell):
    try:
        return {"value": value_json(cell.cell_contents)}
    except ValueError:
        return {"empty": True}


def function_facts(f):
    code = f.__code__ if not PY2 else f.func_code
    g = f.__globals__ if not PY2 else f.func_globals
    closure = f.__closure__ if not PY2 else f.func_closure
    defaults = f.__defaults__ if not PY2 else f.func_defaults
    out = od(
        ("kind", "function"),
        ("name", text(f.__name__)),
        ("qualname", text(getattr(f, "__qualname__", f.__name__))),
        ("module", None if f.__module__ is None else text(f.__module__)),
        ("doc", None if f.__doc__ is None else text(f.__doc__)),
        ("code", code_json(code)),
        ("defaults", None if defaults is None else [value_json(x) for x in defaults]),
    )
    kw = getattr(f, "__kwdefaults__", None)
    out["kwdefaults"] = None if kw is None else od(*[(text(k), value_json(v)) for k, v in kw.items()])
    out["closure"] = None if closure is None else [cell_json(c) for c in closure]
    ann = getattr(f, "__annotations__", None)
    out["annotations"] = None if ann is None else od(*[(text(k), value_json(v)) for k, v in ann.items()])
    out["dict"] = od(*[(text(k), value_json(v)) for k, v in sorted(f.__dict__.items())])
    # The globals the code (and its nested code) names that the function's globals hold.
    out["globals"] = od(*[(text(n), value_json(g[n])) for n in code_names(code) if n in g])
    return out


CLASS_DICT_SKIP = ("__dict__", "__weakref__")


def member_json(v, module):
    """Class-dict members: the class's own methods (defined in its module) are described in
    full, everything else (including methods inherited from library code) as a VALUE."""

    def own(f):
        return isinstance(f, types.FunctionType) and f.__module__ == module

    if own(v):
        return {"method": function_facts(v)}
    if isinstance(v, (classmethod, staticmethod)) and own(v.__func__):
        return {type(v).__name__: function_facts(v.__func__)}
    if isinstance(v, property) and all(x is None or own(x) for x in (v.fget, v.fset, v.fdel)):
        return {"property": [None if x is None else function_facts(x) for x in (v.fget, v.fset, v.fdel)]}
    return value_json(v)


def class_facts(cls):
    out = od(
        ("kind", "class"),
        ("name", text(cls.__name__)),
        ("qualname", qualname(cls)),
        ("module", text(cls.__module__)),
        ("metaclass", value_json(type(cls))),
        ("bases", [value_json(b) for b in cls.__bases__]),
    )
    items = []
    for k in sorted(cls.__dict__.keys()):
        v = cls.__dict__[k]
        if k in CLASS_DICT_SKIP:
            continue
        if k.startswith("_abc_") or k in ("_member_map_", "_value2member_map_", "_member_names_"):
            # ABC caches and enum internals: identity-heavy; members are reported separately.
            items.append((text(k), {"object": {"type": type(v).__name__}}))
            continue
        items.append((text(k), member_json(v, cls.__module__)))
    out["dict"] = od(*items)
    try:
        import enum

        if isinstance(cls, enum.EnumMeta):
            out["enum_members"] = [[text(m.name), value_json(m.value)] for m in cls]
    except ImportError:
        pass
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        out["namedtuple_fields"] = [text(f) for f in cls._fields]
    fields = getattr(cls, "__dataclass_fields__", None)
    if fields is not None:
        out["dataclass_fields"] = [text(n) for n in fields]
    return out


def facts(obj):
    """The facts recorded for one sample object."""
    if isinstance(obj, types.FunctionType):
        return function_facts(obj)
    if isinstance(obj, types.CodeType):
        return od(("kind", "code"), ("code", code_json(obj)))
    if isinstance(obj, type) or (PY2 and isinstance(obj, types.ClassType)):  # noqa
        return class_facts(obj)
    if isinstance(obj, types.ModuleType):
        members = [(text(k), value_json(v)) for k, v in sorted(obj.__dict__.items()) if not k.startswith("__")]
        return od(("kind", "module"), ("name", text(obj.__name__)), ("dict", od(*members)))
    try:
        import enum

        if isinstance(obj, enum.Enum):
            return od(
                ("kind", "enum_member"),
                ("class", type_ref(type(obj))),
                ("name", text(obj.name)),
                ("value", value_json(obj.value)),
            )
    except ImportError:
        pass
    if type(obj).__name__ == "TypeVar":
        return od(
            ("kind", "typevar"),
            ("name", text(obj.__name__)),
            ("bound", value_json(obj.__bound__)),
            ("constraints", [value_json(c) for c in obj.__constraints__]),
            ("covariant", obj.__covariant__),
            ("contravariant", obj.__contravariant__),
        )
    if type(obj) is list:
        ids = []
        firsts = []
        for x in obj:
            for i, y in enumerate(firsts):
                if y is x:
                    ids.append(i)
                    break
            else:
                ids.append(len(firsts))
                firsts.append(x)
        return od(
            ("kind", "list"),
            ("items", [value_json(x) for x in obj]),
            ("identity", ids),
            ("distinct", [facts(x) for x in firsts]),
        )
    return od(
        ("kind", "instance"),
        ("class", type_ref(type(obj))),
        ("state", value_json(getattr(obj, "__dict__", None))),
    )


# ---------------------------------------------------------------------------------------------
# Behavioural checks. Each takes the (original or reloaded) object and returns something that
# value_json can encode; it must not reference the samples' module.


def _drive(coro):
    """Runs a coroutine that never suspends; returns its result."""
    try:
        coro.send(None)
    except StopIteration as e:
        return e.value
    raise AssertionError("coroutine suspended")


def _agen_collect(agen):
    out = []
    while True:
        aw = agen.__anext__()
        try:
            aw.send(None)
        except StopIteration as e:
            out.append(e.value)
            continue
        except StopAsyncIteration:  # noqa: F821
            return out


def _catch(fn):
    try:
        return ["ok", fn()]
    except Exception as e:
        return ["raised", type(e).__name__]


def _point_check(cls):
    p = cls(3, 4)
    return [
        cls.__name__,
        cls.origin().x,
        cls.dist2(1, 2),
        p.norm2,
        p.moved(1, 1).y,
        cls.KIND,
        cls.__doc__,
    ]


def _counter_check(f):
    return [f(), f(), f()]


CHECKS = {
    "lambda": lambda f: [f(3), f(-2)],
    "closure": lambda f: [f(1), f(10)],
    "closure_nonlocal": _counter_check,
    "closure_recursive": lambda f: [f(10), f(1)],
    "closure_empty": lambda f: _catch(f),
    "nested": lambda f: [f(2), f(5)],
    "global_var": lambda f: _catch(lambda: f(3)),
    "recursive_global": lambda f: _catch(lambda: f(6)),
    "defaults": lambda f: [f(1), f(1, 5), f(1, 5, "z"), list(f.__defaults__ or ())],
    "kwdefaults": lambda f: _catch(lambda: [f(1), f(1, b=10), f(1, c="c")]),
    "annotated": lambda f: [f(2), sorted(getattr(f, "__annotations__", {}).keys())],
    "func_attrs": lambda f: [f(), f.__doc__, sorted(f.__dict__.items())],
    "posonly": lambda f: [f(1, 2, 3), f(1, 2, c=3, d=5), _catch(lambda: f(a=1, b=2, c=3))],
    "generator": lambda f: list(f(5)),
    "async_func": lambda f: _drive(f(41)),
    "async_gen": lambda f: _agen_collect(f(4)),
    "dynamic_class": _point_check,
    "dynamic_instance": lambda p: [type(p).__name__, p.x, p.y, p.norm2, p.moved(2, 2).x],
    "dynamic_subclass_super": lambda cls: [cls.__name__, cls(1, 2, 3).norm2, cls(1, 2, 3).z, cls.__mro__[1].__name__],
    "enum_class": lambda cls: [[m.name for m in cls], [m.value for m in cls], cls(2).name],
    "enum_member": lambda m: [m.name, m.value, type(m).__name__],
    "module_ref": lambda f: _catch(lambda: f(16.0)),
    "submodule_ref": lambda f: _catch(lambda: f("<a><b/></a>")),
    "module_obj": lambda m: [m.__name__, m.sqrt(4.0)],
    "dynamic_module": lambda m: _catch(lambda: [m.__name__, m.hello(), m.X]),
    "typevar": lambda t: [t.__name__, getattr(t.__bound__, "__name__", None), t.__covariant__],
    "dataclass": lambda cls: [repr(cls(1)), repr(cls(2, "y")), cls(1) == cls(1), sorted(cls.__dataclass_fields__)],
    "namedtuple_class": lambda cls: [repr(cls(1, 2)), list(cls._fields), cls(1, 2).right],
    "namedtuple_instance": lambda t: [repr(t), list(t), t.left],
    "shared_list": lambda fs: [fs[0] is fs[2], fs[0] is fs[1], fs[0](4), fs[1](5)],
}


def run_check(name, obj):
    try:
        return od(("ok", True), ("value", value_json(CHECKS[name](obj))))
    except Exception as e:
        return od(("ok", False), ("error", "%s: %s" % (type(e).__name__, e)))


# Checks for bare code objects (the copyreg+marshal producer ships code, not functions): the
# receiver rebuilds a function with builtins-only globals, as users of the trick do.
def _fn(code, defaults=None):
    import types as _t

    try:
        import builtins as _b
    except ImportError:  # py2
        import __builtin__ as _b
    return _t.FunctionType(code, {"__builtins__": _b}, code.co_name, defaults)


CODE_CHECKS = {
    "lambda": lambda c: [_fn(c)(3), _fn(c)(-2)],
    "nested": lambda c: [_fn(c)(2), _fn(c)(5)],
    "defaults": lambda c: [_fn(c)(1, 5, "z"), _fn(c, (2, "three"))(1)],
    "generator": lambda c: list(_fn(c)(5)),
    "posonly": lambda c: [_fn(c)(1, 2, 3)],
}


def run_code_check(name, code):
    try:
        return od(("ok", True), ("value", value_json(CODE_CHECKS[name](code))))
    except Exception as e:
        return od(("ok", False), ("error", "%s: %s" % (type(e).__name__, e)))
