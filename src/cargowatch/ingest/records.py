"""Splitting JSON sources into records: JSON arrays, {"events": [...]} envelopes and NDJSON.

NDJSON is streamed line by line. Whole JSON documents are split with msgspec when they fit in
memory comfortably and with ijson (streaming) beyond WHOLE_DOCUMENT_LIMIT.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO

import ijson
import msgspec

from cargowatch.ingest.adapters.base import SourceRecord

WHOLE_DOCUMENT_LIMIT = 64 * 1024 * 1024
_HEAD = 64 * 1024
_WS = b" \t\r\n\xef\xbb\xbf"
BOM = b"\xef\xbb\xbf"


def _size(stream: IO[bytes]) -> int:
    pos = stream.tell()
    stream.seek(0, 2)
    end = stream.tell()
    stream.seek(pos)
    return end


def json_shape(head: bytes, envelope_keys: tuple[str, ...]) -> str:
    """'array', 'ndjson' or 'document' for a JSON source starting with head."""
    text = head.lstrip(_WS)
    if text.startswith(b"["):
        return "array"
    first = text.partition(b"\n")[0]
    try:
        obj = msgspec.json.decode(first)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        # an unfinished first line: a pretty-printed document, or NDJSON whose first line is bad
        return "ndjson" if first.rstrip().endswith(b"}") else "document"
    if isinstance(obj, dict) and not any(k in obj for k in envelope_keys):
        return "ndjson"  # one object a line (a one-line file is the same thing)
    return "document"


def json_records(
    stream: IO[bytes], envelope_keys: tuple[str, ...] = ("events",)
) -> Iterator[SourceRecord]:
    """Every record of a JSON source, whatever its shape."""
    head = stream.read(_HEAD)
    stream.seek(3 if head.startswith(BOM) else 0)  # a byte order mark is not content
    shape = json_shape(head, envelope_keys)
    if shape == "ndjson":
        yield from _ndjson(stream)
    elif _size(stream) > WHOLE_DOCUMENT_LIMIT:
        yield from _streamed(stream, shape, envelope_keys)
    else:
        yield from _whole(stream.read(), shape, envelope_keys)


def _ndjson(stream: IO[bytes]) -> Iterator[SourceRecord]:
    for lineno, line in enumerate(stream, 1):
        body = line.strip()
        if body:
            yield SourceRecord(f"line {lineno}", lineno, body)


def _items_with_lines(data: bytes, items: list[msgspec.Raw], start: int) -> Iterator[SourceRecord]:
    cursor = start
    line = data.count(b"\n", 0, cursor) + 1
    for index, item in enumerate(items):
        raw = bytes(item)
        pos = data.find(raw, cursor)
        if pos < 0:  # cannot happen for a well-formed document; keep the record anyway
            yield SourceRecord(f"item {index}", None, raw)
            continue
        line += data.count(b"\n", cursor, pos)
        cursor = pos
        yield SourceRecord(f"item {index} (line {line})", line, raw)


def _whole(data: bytes, shape: str, envelope_keys: tuple[str, ...]) -> Iterator[SourceRecord]:
    try:
        if shape == "array":
            items = msgspec.json.decode(data, type=list[msgspec.Raw])
            yield from _items_with_lines(data, items, 0)
            return
        doc = msgspec.json.decode(data, type=dict[str, msgspec.Raw])
    except msgspec.DecodeError:
        # Salvage the records before the damage; the whole document goes to quarantine too,
        # so nothing is lost and a replay after a fix stores only what is still missing.
        yield from _streamed(io.BytesIO(data), shape, envelope_keys, whole=data)
        return
    for key in envelope_keys:
        if key in doc:
            raw_list = bytes(doc[key])
            try:
                items = msgspec.json.decode(raw_list, type=list[msgspec.Raw])
            except msgspec.DecodeError:
                yield SourceRecord(f"'{key}'", None, raw_list)
                return
            start = data.find(raw_list)
            yield from _items_with_lines(data, items, max(start, 0))
            return
    yield SourceRecord("document", 1, data)


def _streamed(
    stream: IO[bytes], shape: str, envelope_keys: tuple[str, ...], whole: bytes | None = None
) -> Iterator[SourceRecord]:
    prefix = "item" if shape == "array" else f"{envelope_keys[0]}.item"
    index = -1
    try:
        for index, obj in enumerate(ijson.items(stream, prefix, use_float=True)):
            yield SourceRecord(f"item {index}", None, msgspec.json.encode(obj))
    except ijson.JSONError as exc:
        where = f"document, after item {index}" if index >= 0 else "document"
        error = f"malformed JSON after item {index}: {exc}"
        if whole is not None:
            yield SourceRecord(where, None, whole, error)
        else:
            note = f"<{error}; the rest of the file was not read: fix it and ingest it again>"
            yield SourceRecord(where, None, note.encode(), error)
