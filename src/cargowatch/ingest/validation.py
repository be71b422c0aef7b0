"""Identifier checks shared by the adapters: ISO 6346 container numbers and UN/LOCODE shape."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
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


@lru_cache(maxsize=1)
def countries() -> frozenset[str]:
    """The ISO 3166 country codes UN/LOCODE uses (shipped in ingest/refdata)."""
    import csv
    from pathlib import Path

    path = Path(__file__).parent / "refdata" / "unlocode-country-codes.csv"
    with path.open(encoding="utf-8") as handle:
        return frozenset(row["CountryCode"].strip() for row in csv.DictReader(handle))


@lru_cache(maxsize=65536)
def is_unlocode(code: str) -> bool:
    """Whether code is a UN/LOCODE: a country of the UN/LOCODE list, then 3 letters or digits
    2-9."""
    return _UNLOCODE.match(code) is not None and code[:2] in countries()


EARLIEST_YEAR = 1990  # container events, DCSA or EDIFACT, are not older than this
LATEST_YEARS_AHEAD = 5  # plans and estimates look ahead; not decades


def implausible_year(year: int) -> str | None:
    """Why a record's year cannot be right (decades away), or None."""
    latest = _this_year(int(time.time()) // 3600) + LATEST_YEARS_AHEAD
    if year < EARLIEST_YEAR or year > latest:
        return f"year {year} is outside {EARLIEST_YEAR}-{latest}"
    return None


@lru_cache(maxsize=2)
def _this_year(hour: int) -> int:
    """The current UTC year, read once an hour (hour: hours since the epoch)."""
    return datetime.fromtimestamp(hour * 3600, UTC).year
