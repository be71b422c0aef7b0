"""Identifier checks shared by the adapters: ISO 6346 container numbers and UN/LOCODE shape."""

from __future__ import annotations

import re
from functools import lru_cache

_LETTER_VALUES: dict[str, int] = {}
_value = 10
for _ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
    if _value % 11 == 0:  # ISO 6346 skips multiples of 11
        _value += 1
    _LETTER_VALUES[_ch] = _value
    _value += 1

_ISO6346 = re.compile(r"^[A-Z]{3}[UJZR][0-9]{7}$")
_UNLOCODE = re.compile(r"^[A-Z]{2}[A-Z2-9]{3}$")


def iso6346_check_digit(prefix10: str) -> int:
    """The ISO 6346 check digit of the first ten characters of a container number."""
    total = 0
    for i, ch in enumerate(prefix10):
        v = _LETTER_VALUES[ch] if ch.isalpha() else int(ch)
        total += v << i
    return total % 11 % 10


@lru_cache(maxsize=65536)
def container_warning(number: str) -> str | None:
    """A warning text when number is not a valid ISO 6346 container number, else None.

    A wrong check digit is only a warning: real messages (DCSA's own examples) carry them.
    """
    if not _ISO6346.match(number):
        return f"container {number!r} is not an ISO 6346 number (4 letters, 7 digits)"
    expected = iso6346_check_digit(number[:10])
    if int(number[10]) != expected:
        return f"container {number}: ISO 6346 check digit is {number[10]}, expected {expected}"
    return None


def is_unlocode(code: str) -> bool:
    """Whether code has the UN/LOCODE shape: 2-letter country, 3 letters or digits 2-9."""
    return _UNLOCODE.match(code) is not None
