# Compiles codeobj/tests/data/summary/audit.py with the running interpreter and writes
# codeobj/tests/data/summary/audit-X.Y.marshal (marshal.dumps of the module code object), the
# input of codeobj's summary tests. Deterministic (run with PYTHONHASHSEED=0).
#
# Usage: pythonX.Y xtask/py/opcodes_summary_samples.py WORKSPACE-ROOT
import marshal
import os
import sys

root = sys.argv[1]
folder = os.path.join(root, "codeobj", "tests", "data", "summary")
with open(os.path.join(folder, "audit.py")) as f:
    source = f.read()
code = compile(source, "audit.py", "exec")
out = os.path.join(folder, "audit-%d.%d.marshal" % sys.version_info[:2])
with open(out, "wb") as f:
    f.write(marshal.dumps(code))
