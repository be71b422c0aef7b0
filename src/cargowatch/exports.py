"""Writing tables for spreadsheets without letting a cell run as a formula (OWASP's CSV
injection guidance: a text cell that starts with = + - @, a tab or a carriage return is
prefixed with a single quote, and every text cell is quoted)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_cell(value: Any) -> Any:
    """value ready for a spreadsheet: numbers stay numbers, text that a spreadsheet would
    evaluate gets a leading single quote, None becomes an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def write_csv(stream: IO[str], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A CSV table with every cell made safe (header included)."""
    out = csv.writer(stream, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    out.writerow([safe_cell(h) for h in header])
    for row in rows:
        out.writerow([safe_cell(v) for v in row])
