# Prints, as one JSON object on stdout, `dis.dis` of every .pyc in a folder: {file name: listing},
# addresses of code objects masked to 0x0. For checking codeobj's listings against an
# interpreter the pyc samples were made for (3.14 under Pyodide, see xtask/src/codegen.rs).
#
# Usage: opcodes_dis_samples.py FOLDER [PREFIX]   (PREFIX is put before FOLDER to open it:
#        "/host" under Pyodide, where the host's files are mounted)
import io
import json
import marshal
import os
import re
import sys
import warnings

import dis

ADDRESS = re.compile(r' at 0x[0-9a-fA-F]+')


def main():
    warnings.simplefilter('ignore')
    folder = (sys.argv[2] if len(sys.argv) > 2 else '') + sys.argv[1]
    out = {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith('.pyc'):
            continue
        with open(os.path.join(folder, name), 'rb') as f:
            code = marshal.loads(f.read()[16:])
        text = io.StringIO()
        dis.dis(code, file=text)
        out[name] = ADDRESS.sub(' at 0x0', text.getvalue())
    sys.stdout.write(json.dumps(out, sort_keys=True) + '\n')


main()
