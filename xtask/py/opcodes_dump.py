# Dumps the running interpreter's opcode facts as JSON on stdout, for `cargo xtask codegen`.
#
# Runs unchanged on CPython 2.7 and 3.6+ (no f-strings, no walrus). Output is deterministic:
# sorted keys, no timestamps, no paths. Every list of opcodes is written as opcode *numbers*
# exactly as the interpreter holds them (3.12's hasfree still lists 148, which has no name).
import json
import sys

import dis
import opcode


def names_to_numbers(seq):
    return sorted(set(int(x) for x in seq))


def main():
    out = {}
    out["version"] = "%d.%d" % sys.version_info[:2]
    out["python"] = "%d.%d.%d" % sys.version_info[:3]
    out["source"] = "dumped from CPython %s by xtask/py/opcodes_dump.py" % out["python"]
    out["have_argument"] = opcode.HAVE_ARGUMENT
    out["extended_arg"] = opcode.EXTENDED_ARG

    min_instr = getattr(opcode, "MIN_INSTRUMENTED_OPCODE", None)
    min_pseudo = getattr(opcode, "MIN_PSEUDO_OPCODE", None)
    pseudo_names = set()
    if hasattr(opcode, "_pseudo_ops"):
        pseudo_names = set(opcode._pseudo_ops)
    out["min_instrumented_opcode"] = min_instr
    out["min_pseudo_opcode"] = min_pseudo if min_pseudo is not None else (
        256 if sys.version_info >= (3, 13) else None)

    real, instrumented, pseudo = {}, {}, {}
    for name, num in opcode.opmap.items():
        if num >= 256 or name in pseudo_names:
            pseudo[name] = num
        elif name.startswith("INSTRUMENTED_") or (min_instr is not None and num >= min_instr):
            instrumented[name] = num
        else:
            real[name] = num
    out["opmap"] = real
    out["instrumented"] = instrumented
    out["pseudo"] = pseudo

    # Specialised (adaptive) instructions: 3.11/3.12 list their names and dis._all_opmap
    # numbers them; 3.13 has a ready-made map.
    specialized = {}
    if hasattr(opcode, "_specialized_opmap"):
        specialized = dict(opcode._specialized_opmap)
    elif hasattr(opcode, "_specialized_instructions"):
        for name in opcode._specialized_instructions:
            specialized[name] = dis._all_opmap[name]
    out["specialized"] = specialized
    fams = getattr(opcode, "_specializations", {})
    out["specializations"] = dict((k, list(v)) for k, v in fams.items())

    if hasattr(opcode, "hasarg"):
        out["hasarg"] = names_to_numbers(opcode.hasarg)
        out["hasarg_derived"] = False
    else:
        out["hasarg"] = sorted(n for n in opcode.opmap.values() if n >= opcode.HAVE_ARGUMENT)
        out["hasarg_derived"] = True
    for key in ("hasconst", "hasname", "hasjrel", "hasjabs", "haslocal", "hasfree",
                "hascompare", "hasnargs", "hasexc", "hasjump"):
        if hasattr(opcode, key):
            out[key] = names_to_numbers(getattr(opcode, key))
        else:
            out[key] = None
    out["cmp_op"] = list(opcode.cmp_op)

    caches = {}
    ice = getattr(opcode, "_inline_cache_entries", None)
    if isinstance(ice, dict):
        for name, n in ice.items():
            if n:
                caches[name] = n
    elif ice is not None:
        for num, n in enumerate(ice):
            if n:
                caches[opcode.opname[num]] = n
    out["inline_cache_entries"] = caches
    fmt = getattr(opcode, "_cache_format", {})
    out["cache_format"] = dict((k, dict(v)) for k, v in fmt.items())

    nb = getattr(opcode, "_nb_ops", None)
    out["nb_ops"] = [list(x) for x in nb] if nb is not None else None
    i1 = getattr(opcode, "_intrinsic_1_descs", None)
    i2 = getattr(opcode, "_intrinsic_2_descs", None)
    out["intrinsic_1"] = list(i1) if i1 is not None else None
    out["intrinsic_2"] = list(i2) if i2 is not None else None

    # 3.14+: LOAD_SPECIAL's method names and LOAD_COMMON_CONSTANT's objects, each as dis shows
    # it (a class by its name, anything else by its repr); the keys are absent before, so older
    # dumps do not change.
    specials = getattr(opcode, "_special_method_names", None)
    if specials is not None:
        out["special_method_names"] = list(specials)
    commons = getattr(opcode, "_common_constants", None)
    if commons is not None:
        out["common_constants"] = [c.__name__ if isinstance(c, type) else repr(c)
                                   for c in commons]

    text = json.dumps(out, sort_keys=True, indent=1, separators=(",", ": "))
    sys.stdout.write(text + "\n")


main()
