"""The shape of an ingest adapter and what it hands back."""

from __future__ import annotations

import abc
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, ClassVar

import msgspec

from cargowatch.plugins import Registry


class RecordError(Exception):
    """One record cannot be used: names the field and what was expected."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


_PATH = re.compile(r" - at `([^`]*)`$")


def record_error_from_msgspec(exc: msgspec.MsgspecError) -> RecordError:
    """Turn a msgspec validation or decode error into a RecordError naming the field."""
    text = str(exc)
    match = _PATH.search(text)
    if match:
        path = match.group(1)
        field = path[2:] if path.startswith("$.") else path.lstrip("$")
        return RecordError(field, text[: match.start()])
    if isinstance(exc, msgspec.DecodeError) and not isinstance(exc, msgspec.ValidationError):
        return RecordError("", f"malformed JSON: {text}")
    return RecordError("", text)


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One raw record as read from a source, with where it was found."""

    location: str
    line: int | None
    raw: bytes


# The columns an adapter fills for each event, in this order (see events.models.Event).
EVENT_FIELDS: tuple[str, ...] = (
    "event_key",
    "source_format",
    "event_type",
    "event_code",
    "classifier",
    "event_time",
    "created_time",
    "container",
    "iso_type",
    "empty_indicator",
    "movement_type",
    "unlocode",
    "facility_code",
    "facility_type",
    "location_name",
    "latitude",
    "longitude",
    "seals",
    "booking_ref",
    "bl_number",
    "document_type",
    "document_id",
    "transport_call_ref",
    "mode_of_transport",
    "vessel_imo",
    "vessel_name",
    "voyage",
    "service_code",
    "originator",
    "details",
    "warnings",
    "raw",
)

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
    def convert(self, record: SourceRecord, fmt: str) -> EventRow | Retract:
        """One canonical event row (or a retraction); raises RecordError."""

    def note_unknown_fields(self, record: SourceRecord, fmt: str) -> list[str]:
        """Top-level fields of a sample record this adapter ignores."""
        return []


ADAPTERS: Registry[Adapter] = Registry("cargowatch.ingest_adapters")
