# Samples that need Python 3 syntax (3.6+), exec'd into ext_samples.py's __main__ namespace.
# (No imports of ext_samples names: Point, sys, etc. are already in this namespace.)
# flake8: noqa


def make_counter():
    count = 0

    def counter():
        nonlocal count
        count += 1
        return count

    return counter


counter = make_counter()


def kwonly(a, *, b=3, c=None):
    return [a, b, c]


def annotated(x: int, y: "str" = "a") -> list:
    return [x, y]


async def coro(x):
    return x + 1


async def agen(n):
    for i in range(n):
        yield i * 10


class Point3(Point):
    def __init__(self, x, y, z):
        super().__init__(x, y)
        self.z = z

    @property
    def norm2(self):
        return super().norm2 + self.z * self.z


import enum


class Color(enum.Enum):
    RED = 1
    GREEN = 2
    BLUE = 3


GREEN = Color.GREEN

import typing

T = typing.TypeVar("T", bound=int)

if sys.version_info >= (3, 7):
    import dataclasses

    @dataclasses.dataclass
    class DC:
        a: int
        b: str = "x"
