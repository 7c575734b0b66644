# Writes the printable table of a CPython release with no interpreter here (3.0-3.5) from that
# release's own generated Unicode type database, in the shape `opcodes_printable.py` gives, on
# stdout.
#
# Usage: python3 xtask/py/printable_from_source.py X.Y.Z PATH-TO-unicodetype_db.h \
#            PATH-TO-unicodedata_db.h TAG
#
# e.g. with a CPython clone:
#   git show v3.4.10:Objects/unicodetype_db.h > /tmp/t.h
#   git show v3.4.10:Modules/unicodedata_db.h > /tmp/d.h
#   python3 xtask/py/printable_from_source.py 3.4.10 /tmp/t.h /tmp/d.h v3.4.10
#
# `str.isprintable()` (and so `repr`) of those releases reads the PRINTABLE flag (0x400) of the
# code point's type record: record = _PyUnicode_TypeRecords[index2[(index1[c >> SHIFT] <<
# SHIFT) + (c & ((1 << SHIFT) - 1))]], `flags` being each record's last field. This script reads
# those arrays back from the header and applies the same lookup to every code point.
import json
import re
import sys

PRINTABLE_MASK = 0x400


def array(text, name):
    m = re.search(r"\b%s\[\]\s*=\s*\{(.*?)\};" % re.escape(name), text, re.S)
    if not m:
        raise SystemExit("no array %s" % name)
    return m.group(1)


def main():
    python, type_db, data_db, tag = sys.argv[1:5]
    text = open(type_db).read()
    shift = int(re.search(r"#define SHIFT (\d+)", text).group(1))
    index1 = [int(x) for x in re.findall(r"\d+", array(text, "index1"))]
    index2 = [int(x) for x in re.findall(r"\d+", array(text, "index2"))]
    records = re.findall(r"\{([^{}]*)\}", array(text, "_PyUnicode_TypeRecords"))
    flags = [int(r.split(",")[-1].strip()) for r in records]
    unidata = re.search(r'#define UNIDATA_VERSION "([^"]+)"', open(data_db).read()).group(1)

    def printable(c):
        i = index1[c >> shift]
        return flags[index2[(i << shift) + (c & ((1 << shift) - 1))]] & PRINTABLE_MASK != 0

    # A sanity check of the parse. (`repr` decides ASCII itself and reads the table for
    # non-ASCII only; 3.0's table even calls the space unprintable, which repr never sees.)
    if not all(printable(c) == (0x21 <= c < 0x7F) for c in range(0x80) if c != 0x20):
        raise SystemExit("ASCII printability is not as expected: wrong parse?")
    ranges = []
    start = None
    for c in range(0x80, 0x110000):
        p = printable(c)
        if p and start is None:
            start = c
        elif not p and start is not None:
            ranges.append([start, c - 1])
            start = None
    if start is not None:
        ranges.append([start, 0x10FFFF])
    out = {
        "version": ".".join(python.split(".")[:2]),
        "python": python,
        "unicode": unidata,
        "source": "%s:Objects/unicodetype_db.h, read by xtask/py/printable_from_source.py" % tag,
        "printable": ranges,
    }
    sys.stdout.write(json.dumps(out, sort_keys=True, separators=(",", ":")) + "\n")


main()
