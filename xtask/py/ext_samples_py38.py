# Samples that need Python 3.8+ syntax, exec'd into ext_samples.py's __main__ namespace.


def posonly(a, b, /, c, *, d=4):
    return [a, b, c, d]
