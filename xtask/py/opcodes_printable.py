# Dumps which code points the running Python 3 considers printable (str.isprintable, the rule
# repr() uses to decide between a raw character and an escape), as sorted inclusive ranges of
# non-ASCII code points, JSON on stdout. `cargo xtask codegen` stores it as
# marshal/data/printable/cpython-X.Y.json and generates brine_marshal::repr's tables (and
# pickle-core's copy of 3.13's) from it, so strings print as that version's repr prints them.
import json
import sys
import unicodedata

ranges = []
start = None
for c in range(0x80, 0x110000):
    p = chr(c).isprintable()
    if p and start is None:
        start = c
    elif not p and start is not None:
        ranges.append([start, c - 1])
        start = None
if start is not None:
    ranges.append([start, 0x10FFFF])
out = {
    "version": "%d.%d" % sys.version_info[:2],
    "python": "%d.%d.%d" % sys.version_info[:3],
    "unicode": unicodedata.unidata_version,
    "printable": ranges,
}
sys.stdout.write(json.dumps(out, sort_keys=True, separators=(",", ":")) + "\n")
