"""The shape of an ingest adapter and what it hands back."""

from __future__ import annotations

import abc
import re
from collections.abc import Iterator
from dataclasses import dataclass
from types import UnionType
from typing import (
    IO,
    Annotated,
    Any,
    ClassVar,
    Literal,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

import msgspec

from cargowatch.plugins import Registry


class RecordError(Exception):
    """One record cannot be used: names the field and what was expected."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


_PATH = re.compile(r" - at `([^`]*)`$")


def _unwrap(tp: Any) -> list[Any]:
    """The concrete types inside Optional, Union and Annotated."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _unwrap(get_args(tp)[0])
    if origin in (Union, UnionType):
        return [t for arg in get_args(tp) for t in _unwrap(arg)]
    return [tp]


def allowed_values(root: type, path: str) -> tuple[str, ...]:
    """The Literal values a field accepts, found by walking path ('seals[0].source') from root."""
    current: list[Any] = [root]
    for part in re.findall(r"[^.\[\]]+", path):
        nxt: list[Any] = []
        for tp in current:
            if get_origin(tp) is list and part.isdigit():
                nxt.extend(_unwrap(get_args(tp)[0]))
            elif isinstance(tp, type) and issubclass(tp, msgspec.Struct):
                hints = get_type_hints(tp, include_extras=True)
                if part in hints:
                    nxt.extend(_unwrap(hints[part]))
        current = nxt
    values: list[str] = []
    for tp in current:
        if get_origin(tp) is Literal:
            values.extend(str(v) for v in get_args(tp))
    return tuple(values)


def record_error_from_msgspec(exc: msgspec.MsgspecError, root: type | None = None) -> RecordError:
    """Turn a msgspec validation or decode error into a RecordError naming the field."""
    text = str(exc)
    match = _PATH.search(text)
    if match:
        path = match.group(1)
        field = path[2:] if path.startswith("$.") else path.lstrip("$")
        reason = text[: match.start()]
        if reason.startswith("Invalid enum value") and root is not None:
            allowed = allowed_values(root, field)
            if allowed:
                reason = f"{reason}: expected one of {', '.join(allowed)}"
        elif reason.startswith("Object missing required field"):
            reason = reason.replace("Object missing required field", "missing required field")
        return RecordError(field, reason)
    if isinstance(exc, msgspec.DecodeError) and not isinstance(exc, msgspec.ValidationError):
        return RecordError("", f"malformed JSON: {text}")
    return RecordError("", text)


@dataclass(slots=True)
class SourceRecord:
    """One raw record as read from a source, with where it was found."""

    location: str
    line: int | None
    raw: bytes
    error: str | None = None  # set by a reader that already knows the record is unreadable
    parsed: object = None  # what a reader already parsed, so that convert need not again


# What an adapter hands back for each event, in this order. The first fields are columns of
# events (see events.models.Event); "extra" is a JSON object of the rarely queried attributes
# (EXTRA_KEYS) or None; "transport" is None or a TransportCall tuple, which the writer turns
# into a transport_calls row shared by every event of that call.
EVENT_FIELDS: tuple[str, ...] = (
    "event_key",
    "source_format",
    "event_type",
    "event_code",
    "classifier",
    "event_time",
    "container",
    "iso_type",
    "empty_indicator",
    "unlocode",
    "facility_code",
    "latitude",
    "longitude",
    "seals",
    "booking_ref",
    "bl_number",
    "warnings",
    "extra",
    "transport",
)
EXTRA_KEYS = (
    "movement_type",
    "facility_type",
    "location_name",
    "document_type",
    "document_id",
    "originator",
    "details",
    "updated",  # DCSA 3.0 eventUpdatedDateTime (UTC): a newer one replaces the stored event
)
# (call_key, mode_of_transport, vessel_imo, vessel_name, voyage, service_code)
TransportCall = tuple[str, str | None, str | None, str | None, str | None, str | None]

EventRow = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Retract:
    """A record that retracts an earlier event by its key."""

    event_key: str
    at: str | None


class Adapter(abc.ABC):
    """Reads one family of formats into canonical event rows."""

    name: ClassVar[str]
    formats: ClassVar[tuple[str, ...]]

    @abc.abstractmethod
    def sniff(self, head: bytes) -> str | None:
        """The specific format when head (the first bytes of a source) is ours, else None."""

    @abc.abstractmethod
    def records(self, stream: IO[bytes], fmt: str) -> Iterator[SourceRecord]:
        """The raw records of a source, streamed."""

    @abc.abstractmethod
    def convert(
        self, record: SourceRecord, fmt: str, strict: bool
    ) -> EventRow | Retract | list[EventRow]:
        """One canonical event row (or a retraction); raises RecordError.

        fmt is the source's format; unless strict (the user forced it), a record that clearly
        says it is another format of this adapter's family is read as that one. A record that
        holds several events (an EDIFACT message) gives a list of rows.
        """

    def note_unknown_fields(self, record: SourceRecord, fmt: str) -> list[str]:
        """Top-level fields of a sample record this adapter ignores."""
        return []


ADAPTERS: Registry[Adapter] = Registry("cargowatch.ingest_adapters")
