# -*- coding: utf-8 -*-
"""Fresh-process loader for the extended-pickle fixtures: loads one payload the way its producer's
users do, runs the sample's behavioural check and reports the facts of the loaded object as JSON
on stdout. This module defines none of the samples, so a payload that refers to __main__ by
reference fails here as it would in a real worker. Python 2.7 and 3.6+.

usage: python ext_load.py FAMILY SAMPLE PATH
"""

from __future__ import print_function

import json
import os
import re
import sys
from collections import OrderedDict

import ext_facts


HERE = os.path.dirname(os.path.abspath(__file__))


def scrub(msg):
    """Error text without memory addresses or local paths (fixtures must be deterministic)."""
    msg = re.sub(r" at 0x[0-9a-fA-F]+", " at 0x?", msg)
    for p, name in ((HERE, "<here>"), (sys.prefix, "<prefix>")):
        msg = msg.replace(p, name)
    return msg


def load(family, data):
    if family == "cloudpickle":
        import cloudpickle

        return cloudpickle.loads(data)
    if family == "dill":
        import dill

        return dill.loads(data)
    if family == "extpickle":
        import pickle

        import extpickle  # noqa: F401 - the stream names extpickle.extpickle helpers

        # Same alias as on the producer side (ext_samples.make_dumps).
        sys.modules.setdefault("__mp_main__", sys.modules["__main__"])
        return pickle.loads(data)
    import pickle

    return pickle.loads(data)


def main():
    family, sample, path = sys.argv[1:4]
    with open(path, "rb") as fh:
        data = fh.read()
    out = OrderedDict()
    try:
        obj = load(family, data)
    except BaseException as e:
        out["load"] = OrderedDict([("ok", False), ("error", scrub("%s: %s" % (type(e).__name__, e)))])
    else:
        out["load"] = OrderedDict([("ok", True)])
        try:
            out["facts"] = ext_facts.facts(obj)
        except Exception as e:
            out["facts_error"] = scrub("%s: %s" % (type(e).__name__, e))
        if family == "copyreg-marshal":
            out["check"] = ext_facts.run_code_check(sample, obj)
        else:
            out["check"] = ext_facts.run_check(sample, obj)
    sys.stdout.write(json.dumps(out))


if __name__ == "__main__":
    main()
