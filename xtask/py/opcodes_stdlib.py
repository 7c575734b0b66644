# The running interpreter's standard library as input for codeobj's live checks and benchmark.
#
#   python opcodes_stdlib.py dis OUT [EVERY]    JSON lines, one per source file (every EVERY-th
#                                               file when given): {"file", "marshal" (hex of
#                                               marshal.dumps(code)), "code_objects": [...]},
#                                               each code object as in the .dis.json fixtures.
#   python opcodes_stdlib.py bench OUT [ROUNDS] OUT = the marshalled code objects ([u32 LE
#                                               length][bytes]...); stdout = JSON with the best
#                                               CPU time dis.get_instructions takes over every
#                                               code object (after a marshal round trip).
#
# Runs on 2.7 (which has no dis.get_instructions: a loop decoding like dis.disassemble stands in)
# and 3.6+. Files that do not compile with this interpreter are skipped.
import binascii
import dis
import json
import marshal
import os
import re
import struct
import sys
import time
import types

PY2 = sys.version_info[0] == 2
ADDRESS = re.compile(r' at 0x[0-9a-fA-F]+')
text_type = unicode if PY2 else str  # noqa: F821
bytes_type = str if PY2 else bytes
int_types = (int, long) if PY2 else (int,)  # noqa: F821


def stdlib_files():
    root = os.path.dirname(os.__file__)
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in ('site-packages', '__pycache__'))
        for name in sorted(filenames):
            if name.endswith('.py'):
                out.append(os.path.join(dirpath, name))
    return root, out


def compile_file(path):
    try:
        with open(path, 'rb') as f:
            source = f.read()
        return compile(source, path, 'exec', dont_inherit=True)
    except Exception:
        return None


def as_text(s):
    if isinstance(s, bytes_type) and not isinstance(s, text_type):
        return s.decode('latin-1')
    return s


def canonical(view):
    return json.dumps(view, sort_keys=True, separators=(',', ':'), ensure_ascii=True)


def value_view(v):
    if v is None or v is True or v is False:
        return v
    t = type(v)
    if t in int_types:
        return {'int': str(v)}
    if t is float:
        return {'float': repr(v)}
    if t is complex:
        return {'complex': [repr(v.real), repr(v.imag)]}
    if t is text_type:
        return {'str': v}
    if t is bytes_type:
        return {'bytes': binascii.hexlify(v).decode('ascii')}
    if t is tuple:
        return {'tuple': [value_view(x) for x in v]}
    if t is list:
        return {'list': [value_view(x) for x in v]}
    if t is set or t is frozenset:
        items = sorted((value_view(x) for x in v), key=canonical)
        return {('set' if t is set else 'frozenset'): items}
    if t is dict:
        return {'dict': [[value_view(k), value_view(x)] for k, x in v.items()]}
    if v is Ellipsis:
        return {'ellipsis': True}
    if t is slice:
        return {'slice': [value_view(v.start), value_view(v.stop), value_view(v.step)]}
    return {'repr': repr(v)}


def plain_view(v):
    if v is None or v is True or v is False or type(v) in int_types:
        return v
    if isinstance(v, (text_type, bytes_type)):
        return as_text(v)
    if isinstance(v, (tuple, list)):
        return [plain_view(x) for x in v]
    if callable(v):
        return {'builtin': v.__name__}
    return {'repr': ADDRESS.sub(' at 0x0', repr(v))}


def code_objects(co, path=''):
    out = [(path, co)]
    for i, c in enumerate(co.co_consts):
        if isinstance(c, types.CodeType):
            out.extend(code_objects(c, ('%s/%d' % (path, i)) if path else str(i)))
    return out


def argval_view(op, argval, paths):
    if type(argval).__name__ == '_Unknown':
        return {'unknown': True}
    if op in dis.hasconst:
        if isinstance(argval, types.CodeType):
            return {'code': paths.get(id(argval))}
        return value_view(argval)
    return plain_view(argval)


def py2_instructions(co, paths):
    code = co.co_code
    labels = set(dis.findlabels(code))
    starts = dict(dis.findlinestarts(co))
    out = []
    i, n, ext = 0, len(code), 0
    while i < n:
        op = ord(code[i])
        offset = i
        i += 1
        arg = None
        argval = None
        if op >= dis.HAVE_ARGUMENT:
            arg = ord(code[i]) + ord(code[i + 1]) * 256 + ext
            ext = 0
            i += 2
            if op == dis.EXTENDED_ARG:
                ext = arg * 65536
            if op in dis.hasconst:
                argval = argval_view(op, co.co_consts[arg], paths)
            elif op in dis.hasname:
                argval = as_text(co.co_names[arg])
            elif op in dis.hasjrel:
                argval = i + arg
            elif op in dis.haslocal:
                argval = as_text(co.co_varnames[arg])
            elif op in dis.hascompare:
                argval = dis.cmp_op[arg]
            elif op in dis.hasfree:
                argval = as_text((co.co_cellvars + co.co_freevars)[arg])
            else:
                argval = arg
        out.append({'offset': offset, 'opname': dis.opname[op], 'arg': arg, 'argval': argval,
                    'starts_line': starts.get(offset), 'is_jump_target': offset in labels})
    return out


def py3_instructions(co, paths):
    out = []
    for ins in dis.get_instructions(co):
        item = {'offset': ins.offset, 'opname': ins.opname, 'arg': ins.arg,
                'argval': argval_view(ins.opcode, ins.argval, paths),
                'argrepr': ADDRESS.sub(' at 0x0', ins.argrepr),
                'starts_line': ins.starts_line, 'is_jump_target': ins.is_jump_target}
        if hasattr(ins, 'line_number'):
            item['line_number'] = ins.line_number
        out.append(item)
    return out


def dis_view(root):
    objects = code_objects(root)
    paths = dict((id(c), p) for p, c in objects)
    out = []
    for path, co in objects:
        entry = {'path': path}
        entry['instructions'] = py2_instructions(co, paths) if PY2 else py3_instructions(co, paths)
        entry['findlinestarts'] = [list(x) for x in dis.findlinestarts(co)]
        if hasattr(co, 'co_lines'):
            entry['co_lines'] = [list(x) for x in co.co_lines()]
        if hasattr(co, 'co_positions'):
            entry['co_positions'] = [list(x) for x in co.co_positions()]
        if hasattr(dis, '_parse_exception_table'):
            entry['exception_table'] = [[e.start, e.end, e.target, e.depth, e.lasti]
                                        for e in dis._parse_exception_table(co)]
        out.append(entry)
    return out


def main():
    import warnings
    warnings.simplefilter('ignore')
    mode, out_path = sys.argv[1], sys.argv[2]
    every = int(sys.argv[3]) if len(sys.argv) > 3 and mode == 'dis' else 1
    root, files = stdlib_files()
    files = files[::every]
    if mode == 'dis':
        with open(out_path, 'w') as out:
            for path in files:
                co = compile_file(path)
                if co is None:
                    continue
                try:
                    # dis the code as a .pyc would give it: after a marshal round trip (set
                    # constants then iterate in load order, as they do from a file).
                    data = marshal.dumps(co)
                    record = {'file': os.path.relpath(path, root),
                              'marshal': binascii.hexlify(data).decode('ascii'),
                              'code_objects': dis_view(marshal.loads(data))}
                except Exception:
                    continue
                out.write(json.dumps(record, sort_keys=True, ensure_ascii=True) + '\n')
    elif mode == 'bench':
        codes = []
        with open(out_path, 'wb') as out:
            for path in files:
                co = compile_file(path)
                if co is None:
                    continue
                data = marshal.dumps(co)
                out.write(struct.pack('<I', len(data)))
                out.write(data)
                codes.extend(c for _, c in code_objects(marshal.loads(data)))
        count = 0
        best = None
        timer = getattr(time, 'process_time', None) or time.clock
        rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
        for _ in range(rounds):
            start = timer()
            count = 0
            for co in codes:
                if PY2:
                    count += len(py2_instructions(co, {}))
                else:
                    for _ins in dis.get_instructions(co):
                        count += 1
            elapsed = timer() - start
            best = elapsed if best is None else min(best, elapsed)
        sys.stdout.write(json.dumps({'files': len(files), 'code_objects': len(codes),
                                     'instructions': count, 'seconds': best}) + '\n')
    else:
        raise SystemExit('unknown mode %r' % mode)


main()
