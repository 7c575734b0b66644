import os


def run_closure(cmd):
    def inner():
        return os.system(cmd)
    return inner


def local_import(args):
    import subprocess
    return subprocess.run(args, shell=True)


def sneaky(name):
    f = getattr(__builtins__, name)
    return f("1+1")


def comprehensions(items):
    squares = [x * x for x in items]
    lookup = {k: os.path.join("a", k) for k in items}
    return sum(x for x in squares), lookup


from os.path import join as pjoin
TOKEN = b"secret"


def use_from():
    return pjoin("x", "y")


def evil(src):
    exec(src)
    return eval(src)


def after_loops(items):
    names = sorted([n.upper() for n in items])
    return (os.system if items else os.popen)("x"), names
