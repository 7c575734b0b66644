# Writes the marshal/.pyc fixtures for ONE interpreter: the interpreter running this script.
#
#     python marshal_fixtures.py SRC_DIR OUT_DIR
#
# Driven by `cargo xtask fixtures marshal`, once per installed interpreter, with OUT_DIR =
# tests/fixtures/marshal/<X.Y>/ (emptied by the driver first). Must run unchanged on Python 2.7
# and 3.6+, so it sticks to syntax both understand.
#
# For every SRC_DIR/<name>.py this version can compile, it writes:
#   <name>.pyc       header (mtime 0, real source size) + marshal.dumps(code)
#   <name>.json      CPython's view of that file, in exactly the `brine pyc --json` schema
#   <name>.dis.json  per code object: dis instructions, line starts, co_lines, co_positions,
#                    the exception table, and the `dis` text (inputs for the codeobj tests)
# For basics.py on 3.7+ it also writes the two hash-based variants (PEP 552), with their JSON.
# Then values.json (marshal.dumps of sample values at every marshal version) and manifest.json
# (what was compiled, what was skipped and why).
#
# Determinism: relative filenames, fixed mtime, sorted inputs, sorted JSON keys, no object
# addresses (replaced by 0x0), PYTHONHASHSEED=0 set by the driver.
from __future__ import print_function

import binascii
import dis
import io
import json
import marshal
import os
import re
import struct
import sys
import types
import warnings

PY2 = sys.version_info[0] == 2
VERSION = '%d.%d' % sys.version_info[:2]

if PY2:
    text_type = unicode  # noqa: F821 (Python 2 only)
    bytes_type = str
    int_types = (int, long)  # noqa: F821 (Python 2 only)
    long_type = long  # noqa: F821 (Python 2 only)
    import imp
    from StringIO import StringIO
    MAGIC = imp.get_magic()
    intern_text = intern  # noqa: F821 (Python 2 only)
else:
    text_type = str
    bytes_type = bytes
    int_types = (int,)
    long_type = int
    import importlib.util
    StringIO = io.StringIO
    MAGIC = importlib.util.MAGIC_NUMBER
    intern_text = sys.intern

# co_lnotab is deprecated from 3.12 (a warning on access); compile() may warn too.
warnings.simplefilter('ignore')

ADDRESS = re.compile(r' at 0x[0-9a-fA-F]+')


def hexs(data):
    return binascii.hexlify(data).decode('ascii')


def as_text(s):
    """A name-like field as JSON text. Python 2 byte strings are decoded as Latin-1."""
    if isinstance(s, bytes_type):
        return s.decode('latin-1')
    return s


def canonical(view):
    """The compact JSON text used to order set elements (the Rust side does the same)."""
    return json.dumps(view, sort_keys=True, separators=(',', ':'), ensure_ascii=True)


def dump_json(doc, compact=False):
    if compact:
        text = json.dumps(doc, sort_keys=True, separators=(',', ':'), ensure_ascii=True)
    else:
        text = json.dumps(doc, sort_keys=True, indent=1, separators=(',', ': '),
                          ensure_ascii=True)
    if not isinstance(text, bytes_type):
        text = text.encode('ascii')
    return text + b'\n'


def write(path, data):
    with open(path, 'wb') as f:
        f.write(data)


# ---------------------------------------------------------------------------------------------
# VALUE and CODE views (the schema of `brine pyc --json`)

NAME_TUPLES = ('co_names', 'co_varnames', 'co_freevars', 'co_cellvars')
NAME_FIELDS = ('co_filename', 'co_name', 'co_qualname')
BYTES_FIELDS = ('co_code', 'co_lnotab', 'co_linetable', 'co_exceptiontable')


def value_view(v):
    if v is None:
        return None
    if v is True or v is False:
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
        return {'bytes': hexs(v)}
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
    if v is StopIteration:
        return {'stopiteration': True}
    if t is slice:
        return {'slice': [value_view(v.start), value_view(v.stop), value_view(v.step)]}
    if t is types.CodeType:
        return {'code': code_view(v)}
    raise TypeError('no VALUE view for %r' % (t,))


def code_fields(co):
    names = []
    for name in dir(co):
        if name.startswith('co_') and not callable(getattr(co, name)):
            names.append(name)
    return sorted(names)


def code_view(co):
    view = {}
    for name in code_fields(co):
        v = getattr(co, name)
        if name == 'co_consts':
            view[name] = [value_view(x) for x in v]
        elif name in NAME_TUPLES:
            view[name] = [as_text(x) for x in v]
        elif name in NAME_FIELDS:
            view[name] = as_text(v)
        elif name in BYTES_FIELDS:
            view[name] = hexs(v)
        elif type(v) in int_types:
            view[name] = v
        else:
            raise TypeError('unexpected code attribute %s: %r' % (name, type(v)))
    return view


# ---------------------------------------------------------------------------------------------
# dis views (inputs for the codeobj tests)

def code_objects(co, path=''):
    """Depth-first, in co_consts order: (path, code). The root's path is ''; a child at
    co_consts[i] of a code with path p has path p + '/' + i (or just i under the root)."""
    out = [(path, co)]
    for i, c in enumerate(co.co_consts):
        if isinstance(c, types.CodeType):
            out.extend(code_objects(c, ('%s/%d' % (path, i)) if path else str(i)))
    return out


def argval_view(op, argval, paths):
    if type(argval).__name__ == '_Unknown':
        # 3.11 lists KW_NAMES in hasconst but leaves its argval as the dis.UNKNOWN sentinel.
        return {'unknown': True}
    if op in dis.hasconst:
        if isinstance(argval, types.CodeType):
            return {'code': paths[id(argval)]}
        return value_view(argval)
    return plain_view(argval)


def plain_view(v):
    if v is None or v is True or v is False:
        return v
    if type(v) in int_types:
        return v
    if isinstance(v, (text_type, bytes_type)):
        return as_text(v)
    if isinstance(v, (tuple, list)):
        return [plain_view(x) for x in v]
    if callable(v):
        return {'builtin': v.__name__}
    return {'repr': ADDRESS.sub(' at 0x0', repr(v))}


def disassemble_text(co):
    buf = StringIO()
    if PY2:
        saved = sys.stdout
        sys.stdout = buf
        try:
            dis.disassemble(co)
        finally:
            sys.stdout = saved
    else:
        dis.disassemble(co, file=buf)
    return ADDRESS.sub(' at 0x0', buf.getvalue())


def py3_instructions(co, paths):
    out = []
    for ins in dis.get_instructions(co):
        item = {
            'offset': ins.offset,
            'opcode': ins.opcode,
            'opname': ins.opname,
            'arg': ins.arg,
            'argval': argval_view(ins.opcode, ins.argval, paths),
            'argrepr': ADDRESS.sub(' at 0x0', ins.argrepr),
            'starts_line': ins.starts_line,
            'is_jump_target': ins.is_jump_target,
        }
        if hasattr(ins, 'line_number'):
            item['line_number'] = ins.line_number
        out.append(item)
    return out


PY2_LINE = re.compile(r'^\s*(\d+)?\s+(?:-->)?\s*(>>)?\s*(\d+) (\S+)(?:\s+(\d+))?(?: \((.*)\))?\s*$')


def py2_instructions(co, paths, text):
    """Python 2.7 has no dis.get_instructions: decode the bytecode the way dis.disassemble does,
    then check every instruction against the printed text."""
    code = co.co_code
    labels = set(dis.findlabels(code))
    starts = dict(dis.findlinestarts(co))
    out = []
    i = 0
    extended = 0
    n = len(code)
    while i < n:
        op = ord(code[i])
        offset = i
        i += 1
        arg = None
        argval = None
        argrepr = ''
        if op >= dis.HAVE_ARGUMENT:
            arg = ord(code[i]) + ord(code[i + 1]) * 256 + extended
            extended = 0
            i += 2
            if op == dis.EXTENDED_ARG:
                extended = arg * 65536
            if op in dis.hasconst:
                argval = argval_view(op, co.co_consts[arg], paths)
                argrepr = ADDRESS.sub(' at 0x0', repr(co.co_consts[arg]))
            elif op in dis.hasname:
                argval = as_text(co.co_names[arg])
                argrepr = argval
            elif op in dis.hasjrel:
                argval = i + arg
                argrepr = 'to ' + repr(argval)
            elif op in dis.haslocal:
                argval = as_text(co.co_varnames[arg])
                argrepr = argval
            elif op in dis.hascompare:
                argval = dis.cmp_op[arg]
                argrepr = argval
            elif op in dis.hasfree:
                argval = as_text((co.co_cellvars + co.co_freevars)[arg])
                argrepr = argval
            else:
                argval = arg
        out.append({
            'offset': offset,
            'opcode': op,
            'opname': dis.opname[op],
            'arg': arg,
            'argval': argval,
            'argrepr': argrepr,
            'starts_line': starts.get(offset),
            'is_jump_target': offset in labels,
        })
    lines = [line for line in text.split('\n') if line.strip()]
    if len(lines) != len(out):
        raise AssertionError('dis text has %d lines, decoded %d instructions in %s'
                             % (len(lines), len(out), co.co_name))
    for line, ins in zip(lines, out):
        m = PY2_LINE.match(line)
        if not m:
            raise AssertionError('cannot parse dis line %r' % line)
        lineno, label, offset, opname, arg, argrepr = m.groups()
        ok = (int(offset) == ins['offset'] and opname == ins['opname']
              and (arg is None) == (ins['arg'] is None)
              and (arg is None or int(arg) == ins['arg'])
              and (lineno is None) == (ins['starts_line'] is None)
              and (label is not None) == ins['is_jump_target']
              and (argrepr or '') == ins['argrepr'])
        if not ok:
            raise AssertionError('dis text %r disagrees with decoded %r' % (line, ins))
    return out


def dis_view(root):
    objects = code_objects(root)
    paths = dict((id(c), p) for p, c in objects)
    out = []
    for path, co in objects:
        text = disassemble_text(co)
        entry = {'path': path, 'co_name': as_text(co.co_name), 'text': text}
        if hasattr(co, 'co_qualname'):
            entry['co_qualname'] = co.co_qualname
        if PY2:
            entry['instructions'] = py2_instructions(co, paths, text)
        else:
            entry['instructions'] = py3_instructions(co, paths)
        entry['findlinestarts'] = [list(x) for x in dis.findlinestarts(co)]
        if hasattr(co, 'co_lines'):
            entry['co_lines'] = [list(x) for x in co.co_lines()]
        if hasattr(co, 'co_positions'):
            entry['co_positions'] = [list(x) for x in co.co_positions()]
        if hasattr(dis, '_parse_exception_table'):
            entry['exception_table'] = [[e.start, e.end, e.target, e.depth, e.lasti]
                                        for e in dis._parse_exception_table(co)]
        out.append(entry)
    return {'python': VERSION, 'code_objects': out}


# ---------------------------------------------------------------------------------------------
# .pyc files

def pyc_header(source, flags):
    """The header CPython writes for this version: mtime 0 and the real source size for a
    timestamp pyc; importlib's SipHash of the source for a hash-based one (PEP 552)."""
    size = len(source) & 0xFFFFFFFF
    if sys.version_info < (3, 0):
        return MAGIC + struct.pack('<I', 0)
    if sys.version_info < (3, 7):
        return MAGIC + struct.pack('<II', 0, size)
    if flags & 1:
        return MAGIC + struct.pack('<I', flags) + importlib.util.source_hash(source)
    return MAGIC + struct.pack('<III', 0, 0, size)


def header_view(header):
    magic = struct.unpack('<H', header[:2])[0]
    if len(header) == 8:
        return {'magic': magic, 'flags': 0, 'mtime': struct.unpack('<I', header[4:8])[0],
                'source_size': None, 'source_hash': None}
    if len(header) == 12:
        mtime, size = struct.unpack('<II', header[4:12])
        return {'magic': magic, 'flags': 0, 'mtime': mtime, 'source_size': size,
                'source_hash': None}
    flags = struct.unpack('<I', header[4:8])[0]
    if flags & 1:
        return {'magic': magic, 'flags': flags, 'mtime': None, 'source_size': None,
                'source_hash': hexs(header[8:16])}
    mtime, size = struct.unpack('<II', header[8:16])
    return {'magic': magic, 'flags': flags, 'mtime': mtime, 'source_size': size,
            'source_hash': None}


def write_pyc(out_dir, stem, source, code, flags, with_dis=True):
    header = pyc_header(source, flags)
    body = marshal.dumps(code)
    write(os.path.join(out_dir, stem + '.pyc'), header + body)
    # The view is taken from what the file holds, as our reader will see it.
    loaded = marshal.loads(body)
    doc = header_view(header)
    doc['python'] = VERSION
    doc['code'] = code_view(loaded)
    write(os.path.join(out_dir, stem + '.json'), dump_json(doc))
    if with_dis:
        write(os.path.join(out_dir, stem + '.dis.json'),
              dump_json(dis_view(loaded), compact=True))
    return {'pyc': stem + '.pyc', 'flags': doc['flags'], 'bytes': len(header) + len(body)}


# Hash-based variants are written for this source (3.7+): flags 3 (checked), 1 (unchecked).
HASHED_SOURCE = 'basics.py'


def compile_sources(src_dir, out_dir):
    compiled = []
    skipped = []
    for name in sorted(os.listdir(src_dir)):
        if not name.endswith('.py'):
            continue
        with open(os.path.join(src_dir, name), 'rb') as f:
            source = f.read()
        try:
            # dont_inherit: this script's own __future__ imports must not leak into the code.
            code = compile(source, 'src/' + name, 'exec', 0, True)
        except SyntaxError as exc:
            skipped.append({'source': name, 'reason': 'SyntaxError: %s (line %s)'
                            % (exc.msg, exc.lineno)})
            continue
        stem = name[:-3]
        pycs = [write_pyc(out_dir, stem, source, code, 0)]
        if name == HASHED_SOURCE and sys.version_info >= (3, 7):
            # Same code as <stem>.pyc, so no second .dis.json.
            pycs.append(write_pyc(out_dir, stem + '.hash-checked', source, code, 3, False))
            pycs.append(write_pyc(out_dir, stem + '.hash-unchecked', source, code, 1, False))
        compiled.append({'source': name, 'pycs': pycs})
    return compiled, skipped


# ---------------------------------------------------------------------------------------------
# Sample values

def sample_values():
    shared = (1, 2)
    recursive = [1]
    recursive.append(recursive)
    values = [
        ('none', None), ('true', True), ('false', False),
        ('ellipsis', Ellipsis), ('stopiteration', StopIteration),
        ('int_0', 0), ('int_1', 1), ('int_neg1', -1), ('int_255', 255),
        ('int_i32_max', 2 ** 31 - 1), ('int_i32_min', -2 ** 31),
        ('int_2_31', 2 ** 31), ('int_neg_2_40', -2 ** 40), ('int_2_63', 2 ** 63),
        ('int_2_64', 2 ** 64), ('int_32768', 32768), ('int_2_30', 2 ** 30),
        ('int_big', 7 ** 100), ('int_neg_big', -(3 ** 80)),
        ('long_0', long_type(0)), ('long_1', long_type(1)), ('long_neg_5', long_type(-5)),
        ('float_0', 0.0), ('float_neg_0', -0.0), ('float_1_5', 1.5), ('float_0_1', 0.1),
        ('float_1e300', 1e300), ('float_5e_324', 5e-324), ('float_1e16', 1e16),
        ('float_pi', 3.141592653589793), ('float_inf', float('inf')),
        ('float_neg_inf', float('-inf')), ('float_nan', float('nan')),
        ('complex_1j', 1j), ('complex_mixed', complex(1.5, -2.5)),
        ('complex_neg_zero', complex(-0.0, -0.0)),
        ('complex_nan_inf', complex(float('nan'), float('inf'))),
        ('bytes_empty', b''), ('bytes_short', b'\x00\x01\x7f\x80\xff'),
        ('bytes_300', b'x' * 300),
        ('str_empty', u''), ('str_ascii', u'hello'), ('str_ascii_300', u'a' * 300),
        ('str_latin1', u'caf\xe9'), ('str_bmp', u'\u20ac\u4e2d'), ('str_non_bmp', u'\U0001F600'),
        ('str_non_ascii_300', u'\xe9' * 300),
        ('str_lone_surrogate', u'a\udc80b'),
        ('str_interned', intern_text(str('interned_identifier'))),
        ('tuple_empty', ()), ('tuple_small', (1, u'a', None)),
        ('tuple_300', tuple(range(300))), ('tuple_nested', ((), ((),), (1, (2,)))),
        ('list_empty', []), ('list_small', [1, 2.5, u'x']),
        ('dict_empty', {}), ('dict_small', {u'a': 1, u'b': [2]}),
        ('set_empty', set()), ('set_small', set([1, 2, 3])),
        ('frozenset_empty', frozenset()), ('frozenset_small', frozenset([u'a', u'b', 3])),
        ('shared_tuple_twice', [shared, shared]),
        ('recursive_list', recursive),
    ]
    return values


def value_entries():
    entries = []
    for name, value in sample_values():
        for version in range(marshal.version + 1):
            entry = {'name': name, 'version': version}
            if name == 'recursive_list':
                entry['value'] = None
                entry['recursive'] = True
            else:
                entry['value'] = value_view(value)
            try:
                entry['hex'] = hexs(marshal.dumps(value, version))
            except Exception as exc:
                entry['error'] = '%s: %s' % (type(exc).__name__, exc)
            entries.append(entry)
    return entries


def main():
    src_dir, out_dir = sys.argv[1], sys.argv[2]
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    compiled, skipped = compile_sources(src_dir, out_dir)
    # One compact entry per line: readable diffs without the bulk of an indented 300-tuple.
    lines = [dump_json(e, compact=True).rstrip(b'\n') for e in value_entries()]
    write(os.path.join(out_dir, 'values.json'), b'[\n' + b',\n'.join(lines) + b'\n]\n')
    manifest = {
        'python': VERSION,
        'full_version': '%d.%d.%d' % sys.version_info[:3],
        'magic': struct.unpack('<H', MAGIC[:2])[0],
        'marshal_version': marshal.version,
        'compiled': compiled,
        'skipped': skipped,
    }
    write(os.path.join(out_dir, 'manifest.json'), dump_json(manifest))


if __name__ == '__main__':
    main()
