# One-off helper: writes codeobj/data/opcodes/cpython-X.Y.json for the versions that have no
# interpreter on the build machines (3.0-3.5 and 3.14), in the same shape as opcodes_dump.py.
#
# Usage: python3 xtask/py/opcodes_from_xdis.py PATH-TO-python-xdis-CHECKOUT OUT-DIR
#
# Facts taken from the xdis opcode modules (opmap, has* lists); facts xdis gets wrong or does
# not hold are overridden from shared/spec/codeobj.md and CPython's own tables:
# * cmp_op: CPython 3.0-3.8 spell 'not in', 'is not', 'exception match' with spaces (xdis uses
#   hyphens).
# * 3.14 inline cache counts: shared/spec/codeobj.md section 5.3 (inferred from real 3.14 pycs).
# * 3.14 BINARY_OP table: 3.13's plus NB_SUBSCR (index 26).
# * 3.14 opcodes >= 233 (instrumented, ENTER_EXECUTOR, TRACE_RECORD) are unverified: kept out of
#   the real opmap and recorded under "instrumented" only, flagged by "unverified".
# Not run by `cargo xtask codegen`: its output is committed and reviewed by hand.
import json
import os
import sys

CMP_OP_OLD = ["<", "<=", "==", "!=", ">", ">=", "in", "not in", "is", "is not",
              "exception match", "BAD"]
CMP_OP_NEW = ["<", "<=", "==", "!=", ">", ">="]

NB_OPS_313 = [
    ["NB_ADD", "+"], ["NB_AND", "&"], ["NB_FLOOR_DIVIDE", "//"], ["NB_LSHIFT", "<<"],
    ["NB_MATRIX_MULTIPLY", "@"], ["NB_MULTIPLY", "*"], ["NB_REMAINDER", "%"], ["NB_OR", "|"],
    ["NB_POWER", "**"], ["NB_RSHIFT", ">>"], ["NB_SUBTRACT", "-"], ["NB_TRUE_DIVIDE", "/"],
    ["NB_XOR", "^"], ["NB_INPLACE_ADD", "+="], ["NB_INPLACE_AND", "&="],
    ["NB_INPLACE_FLOOR_DIVIDE", "//="], ["NB_INPLACE_LSHIFT", "<<="],
    ["NB_INPLACE_MATRIX_MULTIPLY", "@="], ["NB_INPLACE_MULTIPLY", "*="],
    ["NB_INPLACE_REMAINDER", "%="], ["NB_INPLACE_OR", "|="], ["NB_INPLACE_POWER", "**="],
    ["NB_INPLACE_RSHIFT", ">>="], ["NB_INPLACE_SUBTRACT", "-="],
    ["NB_INPLACE_TRUE_DIVIDE", "/="], ["NB_INPLACE_XOR", "^="],
]

CACHES_314 = {
    "BINARY_OP": 5, "CALL": 3, "CALL_KW": 3, "COMPARE_OP": 1, "CONTAINS_OP": 1, "FOR_ITER": 1,
    "JUMP_BACKWARD": 1, "LOAD_ATTR": 9, "LOAD_GLOBAL": 4, "LOAD_SUPER_ATTR": 1,
    "POP_JUMP_IF_FALSE": 1, "POP_JUMP_IF_TRUE": 1, "POP_JUMP_IF_NONE": 1,
    "POP_JUMP_IF_NOT_NONE": 1, "SEND": 1, "STORE_ATTR": 4, "STORE_SUBSCR": 1, "TO_BOOL": 3,
    "UNPACK_SEQUENCE": 1,
}

INTRINSIC_1_313 = [
    "INTRINSIC_1_INVALID", "INTRINSIC_PRINT", "INTRINSIC_IMPORT_STAR",
    "INTRINSIC_STOPITERATION_ERROR", "INTRINSIC_ASYNC_GEN_WRAP", "INTRINSIC_UNARY_POSITIVE",
    "INTRINSIC_LIST_TO_TUPLE", "INTRINSIC_TYPEVAR", "INTRINSIC_PARAMSPEC",
    "INTRINSIC_TYPEVARTUPLE", "INTRINSIC_SUBSCRIPT_GENERIC", "INTRINSIC_TYPEALIAS",
]
INTRINSIC_2_313 = [
    "INTRINSIC_2_INVALID", "INTRINSIC_PREP_RERAISE_STAR", "INTRINSIC_TYPEVAR_WITH_BOUND",
    "INTRINSIC_TYPEVAR_WITH_CONSTRAINTS", "INTRINSIC_SET_FUNCTION_TYPE_PARAMS",
    "INTRINSIC_SET_TYPEPARAM_DEFAULT",
]


def build(mod, version):
    major, minor = version
    opmap = dict(mod.opmap)
    out = {
        "version": "%d.%d" % version,
        "python": None,
        "source": "xdis opcode_%d%d + shared/spec/codeobj.md via xtask/py/opcodes_from_xdis.py"
        % version,
        "have_argument": mod.HAVE_ARGUMENT,
        "extended_arg": opmap["EXTENDED_ARG"],
    }
    real, instrumented, pseudo = {}, {}, {}
    for name, num in opmap.items():
        if num >= 256:
            pseudo[name] = num
        elif minor >= 14 and num >= 233:
            instrumented[name] = num
        else:
            real[name] = num
    specialized = {}
    if minor >= 14:
        # Opcodes numbered after RESUME are specialised forms (generated numbering).
        resume = real["RESUME"]
        for name, num in list(real.items()):
            if num > resume:
                specialized[name] = num
                del real[name]
    out["opmap"] = real
    out["instrumented"] = instrumented
    out["pseudo"] = pseudo
    out["specialized"] = specialized
    out["specializations"] = {}
    out["min_instrumented_opcode"] = 233 if minor >= 14 else None
    out["min_pseudo_opcode"] = 256 if minor >= 14 else None
    out["unverified"] = ["instrumented", "min_instrumented_opcode"] if minor >= 14 else []

    def nums(key):
        seq = getattr(mod, key, None)
        if seq is None:
            return None
        valid = set(real.values()) | set(specialized.values()) | set(pseudo.values()) | set(
            instrumented.values())
        return sorted(set(int(x) for x in seq if int(x) in valid))

    out["hasarg"] = sorted(n for n in real.values() if n >= mod.HAVE_ARGUMENT)
    out["hasarg_derived"] = True
    for key in ("hasconst", "hasname", "hasjrel", "hasjabs", "haslocal", "hasfree",
                "hascompare"):
        out[key] = nums(key)
    out["hasnargs"] = None
    out["hasexc"] = None
    out["hasjump"] = None
    if minor >= 14:
        out["hascompare"] = [real["COMPARE_OP"]]
        out["hasexc"] = sorted(pseudo[n] for n in ("SETUP_CLEANUP", "SETUP_FINALLY", "SETUP_WITH"))
    out["cmp_op"] = CMP_OP_NEW if minor >= 9 else CMP_OP_OLD
    out["inline_cache_entries"] = CACHES_314 if minor >= 14 else {}
    out["cache_format"] = {}
    out["nb_ops"] = NB_OPS_313 + [["NB_SUBSCR", "[]"]] if minor >= 14 else None
    out["intrinsic_1"] = INTRINSIC_1_313 if minor >= 14 else None
    out["intrinsic_2"] = INTRINSIC_2_313 if minor >= 14 else None
    return out


def main():
    root, outdir = sys.argv[1], sys.argv[2]
    sys.path.insert(0, root)
    import importlib
    for minor in (0, 1, 2, 3, 4, 5, 14):
        mod = importlib.import_module("xdis.opcodes.opcode_3x.opcode_3%d" % minor)
        data = build(mod, (3, minor))
        path = os.path.join(outdir, "cpython-3.%d.json" % minor)
        with open(path, "w") as f:
            f.write(json.dumps(data, sort_keys=True, indent=1, separators=(",", ": ")) + "\n")


main()
