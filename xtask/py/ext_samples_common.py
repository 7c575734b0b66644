# -*- coding: utf-8 -*-
# Samples with Python 2 and 3 syntax, exec'd into ext_samples.py's __main__ namespace (so that
# they are defined in __main__, as users' functions are, with a relative co_filename).
# flake8: noqa
import math
import sys
import types
import xml.etree.ElementTree
from collections import namedtuple

PY2 = sys.version_info[0] == 2

square = lambda x: x * x  # noqa: E731


def make_adder(n):
    def add(x):
        return x + n

    return add


adder = make_adder(5)


def make_fib():
    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    return fib


closure_fib = make_fib()


def make_unbound():
    if False:
        unbound = None

    def uses_unbound():
        return unbound  # noqa: F821 - the cell stays empty

    return uses_unbound


closure_empty = make_unbound()


def outer_nested(x):
    def inner(y):
        return x * y + 1

    return inner(x + 1) + sum(i * i for i in range(x))


FACTOR = 7


def scale(x):
    return x * FACTOR


def fact(n):
    return 1 if n <= 1 else n * fact(n - 1)


def with_defaults(a, b=2, c="three"):
    return [a, b, c]


def with_attrs():
    """Returns the answer."""
    return 42


with_attrs.tag = "v1"
with_attrs.count = 3


def gen_squares(n):
    for i in range(n):
        yield i * i


def use_math(x):
    return math.sqrt(x)


def use_submodule(s):
    return xml.etree.ElementTree.fromstring(s).tag


class Point(object):
    """A point."""

    KIND = "point"

    def __init__(self, x, y):
        self.x = x
        self.y = y

    @classmethod
    def origin(cls):
        return cls(0, 0)

    @staticmethod
    def dist2(a, b):
        return a * a + b * b

    @property
    def norm2(self):
        return self.x * self.x + self.y * self.y

    def moved(self, dx, dy):
        return Point(self.x + dx, self.y + dy)


point = Point(1, 2)

if PY2:

    class Point3(Point):
        def __init__(self, x, y, z):
            super(Point3, self).__init__(x, y)
            self.z = z

        @property
        def norm2(self):
            return super(Point3, self).norm2 + self.z * self.z


Pair = namedtuple("Pair", "left right")
pair = Pair(1, "b")

dynmod = types.ModuleType("dynmod")
exec(compile("X = 5\ndef hello():\n    return 'hi'\n", "dynmod.py", "exec"), dynmod.__dict__)
# exec() adds the whole builtins namespace; users' dynamic modules rarely ship it and old
# cloudpickle would pickle it by value, so drop it.
del dynmod.__dict__["__builtins__"]

module_obj = math

shared_list = [square, fact, square]
