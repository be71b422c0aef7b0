"""Streaming writers for every format a simulation writes, rotated so that no file gets huge."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

ROTATE_RECORDS = 200_000


class Rotating:
    """Writes records to numbered files (name-0001.ext ...), a new one every ROTATE_RECORDS."""

    def __init__(self, folder: Path, stem: str, ext: str, fmt: str, files: dict[str, Any]) -> None:
        self.folder, self.stem, self.ext, self.fmt = folder, stem, ext, fmt
        self.files = files  # the manifest of files for truth.json
        self.handle: IO[str] | None = None
        self.count = 0
        self.part = 0
        self.path = ""

    def _open(self) -> IO[str]:
        self.close()
        self.part += 1
        name = f"{self.stem}-{self.part:04d}.{self.ext}"
        self.path = name
        self.files[name] = {"format": self.fmt, "records": 0, "malformed": 0}
        self.folder.mkdir(parents=True, exist_ok=True)
        self.handle = (self.folder / name).open("w", encoding="utf-8", newline="")
        self.count = 0
        self.begin(self.handle)
        return self.handle

    def begin(self, handle: IO[str]) -> None:
        """Write what a new file starts with."""

    def end(self, handle: IO[str]) -> None:
        """Write what a file ends with."""

    def write_record(self, handle: IO[str], text: str) -> None:
        """Write one record's text."""
        handle.write(text + "\n")

    def write(self, text: str, *, malformed: bool = False, records: int = 1) -> None:
        """Add one record (which may stand for several records, e.g. an EDIFACT message)."""
        handle = self.handle
        if handle is None or self.count >= ROTATE_RECORDS:
            handle = self._open()
        self.write_record(handle, text)
        self.count += 1
        entry = self.files[self.path]
        entry["records"] += records
        entry["malformed"] += int(malformed)

    def close(self) -> None:
        """Finish the current file."""
        if self.handle is not None:
            self.end(self.handle)
            self.handle.close()
            self.handle = None


class JsonArray(Rotating):
    """A JSON array of objects (DCSA 2.2, the body of GET /events)."""

    def begin(self, handle: IO[str]) -> None:
        handle.write("[\n")

    def write_record(self, handle: IO[str], text: str) -> None:
        handle.write(("" if self.count == 0 else ",\n") + text)

    def end(self, handle: IO[str]) -> None:
        handle.write("\n]\n")


class Interchange(Rotating):
    """An EDIFACT interchange of one sender, one message a record."""

    def __init__(self, folder: Path, stem: str, files: dict[str, Any], sender: str) -> None:
        super().__init__(folder, stem, "edi", "edifact", files)
        self.sender = sender

    def begin(self, handle: IO[str]) -> None:
        handle.write(f"UNA:+.? 'UNB+UNOA:2+{self.sender}+CARGOWATCH+250101:0000+{self.part}'\n")

    def end(self, handle: IO[str]) -> None:
        handle.write(f"UNZ+{self.count}+{self.part}'\n")


class Csv:
    """A CSV register with its exact header."""

    def __init__(self, folder: Path, name: str, header: Sequence[str], files: dict[str, Any]):
        folder.mkdir(parents=True, exist_ok=True)
        self.name = f"{name}.csv"
        self.handle = (folder / self.name).open("w", encoding="utf-8", newline="")
        self.writer = csv.writer(self.handle, lineterminator="\n")
        self.writer.writerow(header)
        self.entry = files[self.name] = {"format": f"csv-{name}", "records": 0, "malformed": 0}

    def row(self, values: Sequence[object], *, malformed: bool = False) -> None:
        """Add one row (None is an empty cell)."""
        self.writer.writerow(["" if v is None else v for v in values])
        self.entry["records"] += 1
        self.entry["malformed"] += int(malformed)

    def close(self) -> None:
        """Finish the file."""
        self.handle.close()


def dumps(obj: object) -> str:
    """Compact JSON."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
