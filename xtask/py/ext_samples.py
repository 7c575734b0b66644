# -*- coding: utf-8 -*-
"""Extended-pickle fixture generator (driven by `cargo xtask fixtures ext`). Python 2.7 and 3.6+.

Run it from its own directory so that every co_filename is relative:

    cd xtask/py && <venv>/bin/python ext_samples.py run --out ../../tests/fixtures/ext \
        --producers cloudpickle,dill,... --pins "cloudpickle==3.1.2 dill==0.3.9"

`run` starts one child process per producer family (`produce`), because dill <= 0.3.4 patches the
stdlib pickler when imported and would contaminate every other producer. Each child defines the
samples in its own `__main__` (this file; version-gated syntax lives in ext_samples_py3.py and
ext_samples_py38.py, exec'd into this namespace), pickles each sample with each producer variant,
records the facts CPython reports about the original object (ext_facts.py), runs the behavioural
check, and then reloads each payload in a fresh process (ext_load.py, which does not define the
samples) and records that outcome too.

Determinism: PYTHONHASHSEED=0 comes from the driver; cloudpickle's class tracker ids come from
uuid.uuid4(), which the producer child replaces with a seeded generator (see seed_uuid4); error
messages are scrubbed of addresses and of local paths.
"""

from __future__ import print_function

import io
import json
import os
import re
import subprocess
import sys
import types
from collections import OrderedDict, namedtuple

import ext_facts
from ext_facts import od

PY2 = sys.version_info[0] == 2
HERE = os.path.dirname(os.path.abspath(__file__))

# =============================================================================================
# The samples (module level of __main__, as users define them).

# Python 3.9+ makes __main__.__file__ (and the script's co_filename) absolute, and cloudpickle ships
# __file__ with every function; the samples are therefore compiled from their own files under
# relative names, after __file__ has been made relative.
__file__ = os.path.basename(__file__)
SAMPLE_FILES = ["ext_samples_common.py"]
if not PY2:
    SAMPLE_FILES.append("ext_samples_py3.py")
if sys.version_info >= (3, 8):
    SAMPLE_FILES.append("ext_samples_py38.py")
for _f in SAMPLE_FILES:
    with open(os.path.join(HERE, _f)) as _fh:
        exec(compile(_fh.read(), _f, "exec"))

# Sample name -> global name in __main__ (absent globals are samples this Python cannot express).
SAMPLES = [
    ("lambda", "square"),
    ("closure", "adder"),
    ("closure_nonlocal", "counter"),
    ("closure_recursive", "closure_fib"),
    ("closure_empty", "closure_empty"),
    ("nested", "outer_nested"),
    ("global_var", "scale"),
    ("recursive_global", "fact"),
    ("defaults", "with_defaults"),
    ("kwdefaults", "kwonly"),
    ("annotated", "annotated"),
    ("func_attrs", "with_attrs"),
    ("posonly", "posonly"),
    ("generator", "gen_squares"),
    ("async_func", "coro"),
    ("async_gen", "agen"),
    ("dynamic_class", "Point"),
    ("dynamic_instance", "point"),
    ("dynamic_subclass_super", "Point3"),
    ("enum_class", "Color"),
    ("enum_member", "GREEN"),
    ("module_ref", "use_math"),
    ("submodule_ref", "use_submodule"),
    ("module_obj", "module_obj"),
    ("dynamic_module", "dynmod"),
    ("typevar", "T"),
    ("dataclass", "DC"),
    ("namedtuple_class", "Pair"),
    ("namedtuple_instance", "pair"),
    ("shared_list", "shared_list"),
]

# =============================================================================================
# Producers. A variant is (family, options); one child process per family.

Producer = namedtuple("Producer", "family protocol options samples")

FUNCTION_SAMPLES = ("lambda", "closure", "closure_recursive", "defaults", "nested", "dynamic_class")

PRODUCERS = OrderedDict(
    [
        ("cloudpickle", Producer("cloudpickle", None, {}, None)),
        ("cloudpickle-p0", Producer("cloudpickle", 0, {}, None)),
        ("cloudpickle-p2", Producer("cloudpickle", 2, {}, None)),
        ("dill", Producer("dill", None, {}, None)),
        ("dill-recurse", Producer("dill", None, {"recurse": True}, None)),
        ("dill-byref", Producer("dill", None, {"byref": True}, None)),
        ("extpickle", Producer("extpickle", None, {}, None)),
        ("copyreg-marshal", Producer("copyreg-marshal", None, {}, tuple(ext_facts.CODE_CHECKS))),
        ("copyreg-marshal-p2", Producer("copyreg-marshal", 2, {}, tuple(ext_facts.CODE_CHECKS))),
        ("joblib-cloudpickle", Producer("joblib", None, {}, None)),
        ("joblib-loky-wrapper", Producer("joblib", None, {"loky_wrapper": True}, FUNCTION_SAMPLES)),
    ]
)


def seed_uuid4():
    """cloudpickle >= 1.5 names each dynamic class with uuid.uuid4().hex (its "tracker id").
    Replace uuid4 with a seeded generator so that regenerating the fixtures changes no byte."""
    import random
    import uuid

    rng = random.Random(0xB21E)
    uuid.uuid4 = lambda: uuid.UUID(int=rng.getrandbits(128), version=4)


def producer_module(family):
    if family == "cloudpickle":
        import cloudpickle

        return cloudpickle, cloudpickle.__version__
    if family == "dill":
        import dill

        return dill, dill.__version__
    if family == "extpickle":
        import extpickle

        return extpickle, None
    if family == "joblib":
        import joblib
        import joblib.externals.cloudpickle

        return joblib, joblib.__version__
    return None, "stdlib"


def make_dumps(name, spec, mod):
    proto = spec.protocol
    if spec.family == "cloudpickle":
        if proto is None:
            return lambda obj: mod.dumps(obj)
        return lambda obj: mod.dumps(obj, protocol=proto)
    if spec.family == "dill":
        opts = dict(spec.options)
        return lambda obj: mod.dumps(obj, protocol=proto, **opts)
    if spec.family == "extpickle":
        # getModNameForModDict never names __main__; give it the alias that multiprocessing
        # creates on 3.8+ (and that dill's import creates) so that __main__ globals travel by
        # reference instead of by value (spec §5). The loader sets the same alias.
        sys.modules.setdefault("__mp_main__", sys.modules["__main__"])

        def dumps(obj):
            buf = io.BytesIO()
            if proto is None:
                mod.Pickler(buf).dump(obj)
            else:
                mod.Pickler(buf, protocol=proto).dump(obj)
            return buf.getvalue()

        return dumps
    if spec.family == "copyreg-marshal":
        import marshal
        import pickle

        try:
            import copyreg
        except ImportError:  # py2
            import copy_reg as copyreg
        copyreg.pickle(types.CodeType, lambda c: (marshal.loads, (marshal.dumps(c),)))
        if proto is None:
            return lambda obj: pickle.dumps(obj)
        return lambda obj: pickle.dumps(obj, proto)
    if spec.family == "joblib":
        from joblib.externals import cloudpickle as jcp

        if spec.options.get("loky_wrapper"):
            import pickle

            from joblib.externals.loky import wrap_non_picklable_objects

            return lambda obj: pickle.dumps(wrap_non_picklable_objects(obj))
        return lambda obj: jcp.dumps(obj)
    raise SystemExit("unknown family %r" % spec.family)


def scrub(msg):
    """Error text without memory addresses or local paths (fixtures must be deterministic)."""
    msg = re.sub(r" at 0x[0-9a-fA-F]+", " at 0x?", msg)
    for p in sorted({sys.prefix, getattr(sys, "real_prefix", sys.prefix), getattr(sys, "base_prefix", sys.prefix), HERE}, key=len, reverse=True):
        msg = msg.replace(p, "<%s>" % ("here" if p == HERE else "prefix"))
    return msg


def write_json(path, obj):
    data = json.dumps(obj, indent=1, separators=(",", ": "), ensure_ascii=True) + "\n"
    with io.open(path, "w", newline="\n") as fh:
        fh.write(data if not PY2 else data.decode("ascii"))


def local_markers():
    """Byte strings that must not appear in a committed payload: the checkout and the venv.
    (The interpreter's own stdlib prefix may appear: cloudpickle ships the globals of by-value
    stdlib helpers such as namedtuple's methods, `__file__` included; see the README.)"""
    marks = set()
    for p in (sys.prefix, HERE, os.path.dirname(os.path.dirname(HERE))):
        if p and len(p) > 1:
            marks.add(p.encode("utf-8") if not isinstance(p, bytes) else p)
    return marks


def interpreter_prefix():
    p = getattr(sys, "real_prefix", None) or getattr(sys, "base_prefix", sys.prefix)
    return p.encode("utf-8") if not isinstance(p, bytes) else p


def python_label():
    return "%d.%d" % sys.version_info[:2]


def python_full():
    return "%d.%d.%d" % sys.version_info[:3]


def diff(a, b, path, out):
    """Paths where two fact trees differ (what the payload did not carry faithfully)."""
    if len(out) >= 200:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in a:
            if k not in b:
                out.append([path + "/" + k, a[k], "<missing>"])
            else:
                diff(a[k], b[k], path + "/" + k, out)
        for k in b:
            if k not in a:
                out.append([path + "/" + k, "<missing>", b[k]])
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, "%s/%d" % (path, i), out)
    elif a != b:
        out.append([path or "/", a, b])


def produce(family, names, out_root, pins):
    seed_uuid4()
    mod, version = producer_module(family)
    if version is None:
        version = dict(p.split("==") for p in pins.split()).get(family, "unknown")
    main = sys.modules["__main__"].__dict__
    variants = []
    for name in names:
        spec = PRODUCERS[name]
        label = "%s-%s" % (name, version)
        d = os.path.join(out_root, python_label(), label)
        if not os.path.isdir(d):
            os.makedirs(d)
        info = od(
            ("producer", family),
            ("variant", name),
            ("version", version),
            ("protocol", spec.protocol),
            ("options", od(*sorted(spec.options.items()))),
            ("python", python_full()),
            ("requirements", pins.split()),
        )
        if family == "joblib":
            import joblib.externals.cloudpickle as jcp

            info["vendored_cloudpickle"] = jcp.__version__
        write_json(os.path.join(d, "producer.json"), info)
        variants.append((name, spec, make_dumps(name, spec, mod), d, info))

    markers = local_markers()
    pending = []
    for sample, glob in SAMPLES:
        if glob not in main:
            continue
        obj = main[glob]
        results = []
        for name, spec, dumps, d, info in variants:
            if spec.samples is not None and sample not in spec.samples:
                continue
            target = obj.__code__ if family == "copyreg-marshal" else obj
            rec = od(("sample", sample), ("python", python_full()), ("producer", info))
            try:
                data = dumps(target)
            except BaseException as e:  # RecursionError, PicklingError, ValueError, ...
                if isinstance(e, KeyboardInterrupt):
                    raise
                rec["dumps"] = od(("ok", False), ("error", scrub("%s: %s" % (type(e).__name__, e))))
                results.append((d, rec, None))
                continue
            leaked = [m for m in markers if m in data]
            if leaked:
                rec["dumps"] = od(("ok", False), ("error", "payload embeds a local absolute path; not kept"))
                results.append((d, rec, None))
                continue
            pkl = os.path.join(d, sample + ".pkl")
            with open(pkl, "wb") as fh:
                fh.write(data)
            rec["dumps"] = od(("ok", True), ("size", len(data)))
            if interpreter_prefix() in data:
                rec["dumps"]["embeds_interpreter_prefix"] = True
            results.append((d, rec, pkl))
        if not results:
            continue
        # Facts first (the check may change closure contents, e.g. the counter).
        target = obj.__code__ if family == "copyreg-marshal" else obj
        f = ext_facts.facts(target)
        if family == "copyreg-marshal":
            expected = ext_facts.run_code_check(sample, target)
        else:
            expected = ext_facts.run_check(sample, obj)
        for d, rec, pkl in results:
            if pkl is not None:
                rec["facts"] = f
                rec["check"] = expected
            pending.append((d, sample, rec, pkl))

    # Reload every payload in a fresh process that does not define the samples.
    loader = os.path.join(HERE, "ext_load.py")
    for d, sample, rec, pkl in pending:
        if pkl is not None:
            rel = os.path.relpath(pkl, HERE)
            proc = subprocess.Popen(
                [sys.executable, loader, rec["producer"]["producer"], sample, rel],
                cwd=HERE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            out, err = proc.communicate()
            if proc.returncode != 0:
                loaded = od(("load", od(("ok", False), ("error", scrub("loader crashed: " + err.decode("utf-8", "replace")[-300:])))))
            else:
                loaded = json.loads(out.decode("utf-8"), object_pairs_hook=OrderedDict)
            rec["load"] = loaded["load"]
            if "check" in loaded:
                rec["reloaded_check"] = loaded["check"]
                rec["passes"] = loaded["check"] == rec["check"]
            else:
                rec["passes"] = False
            if "facts" in loaded:
                differs = []
                diff(rec["facts"], loaded["facts"], "", differs)
                # On 3.10+ co_lnotab is computed from co_linetable. When a producer shipped a
                # wrong linetable (dill 0.3.5.x on 3.10 puts the lnotab there), CPython computes
                # it by reading past the table, and the result changes from run to run: leave it out.
                broken = set(p[: -len("co_linetable")] for p, _, _ in differs if p.endswith("/co_linetable"))
                if sys.version_info >= (3, 10):
                    differs = [d for d in differs if not (d[0].endswith("/co_lnotab") and d[0][: -len("co_lnotab")] in broken)]
                rec["reloaded_differs"] = differs
        write_json(os.path.join(d, sample + ".facts.json"), rec)


def run(producers, out_root, pins):
    families = OrderedDict()
    for name in producers:
        if name not in PRODUCERS:
            raise SystemExit("unknown producer %r" % name)
        families.setdefault(PRODUCERS[name].family, []).append(name)
    for family, names in families.items():
        cmd = [sys.executable, os.path.basename(__file__), "produce", "--family", family, "--producers", ",".join(names), "--out", out_root, "--pins", pins]
        rc = subprocess.call(cmd, cwd=HERE)
        if rc != 0:
            raise SystemExit("producer child for %s failed (exit %d)" % (family, rc))


def main(argv):
    args = OrderedDict()
    cmd = argv[0] if argv else ""
    it = iter(argv[1:])
    for a in it:
        args[a.lstrip("-")] = next(it)
    producers = [p for p in args.get("producers", "").split(",") if p]
    if cmd == "run":
        run(producers, args["out"], args.get("pins", ""))
    elif cmd == "produce":
        produce(args["family"], producers, args["out"], args.get("pins", ""))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
