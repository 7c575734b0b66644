"""Print the rows of `for_each_opcode!` (pickle-core/src/opcodes.rs) from an installed CPython's
pickletools. Run with CPython 3.13: python gen_opcode_rows.py > rows.txt, then paste the rows
between the markers in opcodes.rs. The test `opcodes_match_live_pickletools` checks the committed
table against pickletools whenever an interpreter is installed."""
import pickletools

KINDS = {
    "any": "Any", "mark": "Mark", "stackslice": "StackSlice", "int": "Int",
    "int_or_bool": "IntOrBool", "bool": "Bool", "float": "Float",
    "bytes_or_str": "BytesOrStr", "bytes": "Bytes", "bytearray": "Bytearray", "str": "Str",
    "None": "NoneType", "tuple": "Tuple", "list": "List", "dict": "Dict", "set": "Set",
    "frozenset": "Frozenset", "buffer": "Buffer",
}


def camel(name):
    return "".join(part.capitalize() for part in name.split("_"))


for op in pickletools.opcodes:
    arg = camel(op.arg.name) if op.arg else "None"
    before = ", ".join(KINDS[s.name] for s in op.stack_before)
    after = ", ".join(KINDS[s.name] for s in op.stack_after)
    doc = op.doc.split("\n", 1)[0].replace("\\", "\\\\").replace('"', '\\"')
    print(f'            (0x{ord(op.code):02X}, {camel(op.name)}, "{op.name}", {op.proto}, {arg}, [{before}], [{after}], "{doc}");')
