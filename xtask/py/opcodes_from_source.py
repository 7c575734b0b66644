# Writes the opcode JSON of a CPython release with no interpreter here (3.0-3.5) from that
# release's own `Lib/opcode.py`, in the shape `opcodes_dump.py` gives, on stdout.
#
# Usage: python3 xtask/py/opcodes_from_source.py X.Y PATH-TO-opcode.py "TAG:Lib/opcode.py"
#
# e.g. with a CPython clone: git show v3.3.7:Lib/opcode.py > /tmp/opcode.py, then
#      python3 xtask/py/opcodes_from_source.py 3.3 /tmp/opcode.py v3.3.7:Lib/opcode.py
#
# The module only defines tables (3.4+ also tries `_opcode.stack_effect`, which it may miss),
# so it is executed in an empty namespace and its tables are read back, exactly as `dis` of that
# release would read them. Not run by `cargo xtask codegen`: its output is committed.
import json
import sys


def main():
    version, path, origin = sys.argv[1], sys.argv[2], sys.argv[3]
    ns = {"__name__": "opcode"}
    with open(path) as f:
        exec(compile(f.read(), origin, "exec"), ns)
    out = {
        "version": version,
        "python": None,
        "source": "CPython %s, executed by xtask/py/opcodes_from_source.py" % origin,
        "have_argument": ns["HAVE_ARGUMENT"],
        "extended_arg": ns["EXTENDED_ARG"],
        "min_instrumented_opcode": None,
        "min_pseudo_opcode": None,
        "opmap": dict(ns["opmap"]),
        "instrumented": {},
        "pseudo": {},
        "specialized": {},
        "specializations": {},
        "hasarg": sorted(n for n in ns["opmap"].values() if n >= ns["HAVE_ARGUMENT"]),
        "hasarg_derived": True,
        "cmp_op": list(ns["cmp_op"]),
        "inline_cache_entries": {},
        "cache_format": {},
        "nb_ops": None,
        "intrinsic_1": None,
        "intrinsic_2": None,
    }
    for key in ("hasconst", "hasname", "hasjrel", "hasjabs", "haslocal", "hasfree",
                "hascompare", "hasnargs", "hasexc", "hasjump"):
        out[key] = sorted(set(ns[key])) if key in ns else None
    sys.stdout.write(json.dumps(out, sort_keys=True, indent=1, separators=(",", ": ")) + "\n")


main()
