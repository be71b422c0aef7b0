"""UN/EDIFACT CODECO, COARRI and IFTSTA (directories D95B and D00B, SMDG usage).

pydifact tokenises the interchange; each message (UNH..UNT) is one record. Its structure is
checked against the message definition in edifact_structures/ (mandatory segments, groups,
repeats, order) and its segment count against UNT; then every container (EQD) becomes one
canonical event:

| message | BGM / STS | event |
|---|---|---|
| CODECO | 34 gate-in report, 36 gate-out report | GTIN, GTOT |
| COARRI | 46 loading report, 44 discharge report | LOAD, DISC |
| IFTSTA | STS status code that is a DCSA equipment code (GTIN, LOAD, ...) | that code |

Times (DTM 203, CCYYMMDDHHMM) carry no zone in these messages and are read as UTC; DTM 303
(with a zone) is converted. The event key is sender, message reference and container, so the
same message sent twice is stored once.
"""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import IO, Any

import msgspec
from pydifact.control.characters import Characters
from pydifact.exceptions import EDISyntaxError, MissingImplementationWarning
from pydifact.parser import Parser
from pydifact.segments import Segment
from pydifact.serializer import Serializer

from cargowatch.ingest.adapters.base import (
    ADAPTERS,
    Adapter,
    EventRow,
    RecordError,
    Retract,
    SourceRecord,
    TransportCall,
)
from cargowatch.ingest.validation import container_warning, is_unlocode

STRUCTURES = Path(__file__).parent / "edifact_structures"
MESSAGES = ("CODECO", "COARRI", "IFTSTA")
DIRECTORIES = ("95B", "00B")
DOCUMENT_CODES = {
    "CODECO": {"34": "GTIN", "36": "GTOT"},
    "COARRI": {"46": "LOAD", "44": "DISC"},
}
DCSA_EQUIPMENT_CODES = frozenset(
    ("LOAD", "DISC", "GTIN", "GTOT", "STUF", "STRP", "PICK", "DROP", "INSP", "RSEA", "RMVD",
     "AVPU", "AVDO", "CUSS", "CUSI", "CUSR")
)  # fmt: skip
EMPTY_FULL = {"4": "EMPTY", "5": "LADEN"}
_enc = msgspec.json.Encoder()


# ---------------------------------------------------------------- structure


@dataclass(frozen=True)
class Part:
    """One entry of a message definition: a segment, or a group of parts."""

    tag: str  # segment tag, or the group's trigger segment tag
    name: str  # segment tag or group id (SG3)
    required: bool
    maxrepeat: int
    children: tuple[Part, ...] = ()

    @property
    def is_group(self) -> bool:
        return bool(self.children)


def _parts(node: ET.Element) -> tuple[Part, ...]:
    parts: list[Part] = []
    for child in node:
        required = child.get("required") == "true"
        maxrepeat = int(child.get("maxrepeat", "1"))
        if child.tag == "segment":
            tag = child.get("id", "")
            parts.append(Part(tag, tag, required, maxrepeat))
        elif child.tag == "group":
            inner = _parts(child)
            parts.append(Part(inner[0].tag, child.get("id", ""), required, maxrepeat, inner))
    return tuple(parts)


@cache
def structure(message: str, directory: str) -> tuple[Part, ...]:
    """The definition of a message type in a directory (e.g. COARRI, 95B)."""
    path = STRUCTURES / f"d{directory.lower()}_{message.lower()}.xml"
    return _parts(ET.parse(path).getroot())


def _match(parts: Sequence[Part], tags: Sequence[str], pos: int, where: str) -> int:
    """Consume tags from pos following parts; returns the next position or raises RecordError."""
    for part in parts:
        count = 0
        while pos < len(tags) and tags[pos] == part.tag and count < part.maxrepeat:
            if part.is_group:
                pos = _match(part.children[1:], tags, pos + 1, f"{where}{part.name}/")
            else:
                pos += 1
            count += 1
        if count == 0 and part.required:
            found = tags[pos] if pos < len(tags) else "end of message"
            raise RecordError(
                f"segment {pos + 1}",
                f"mandatory {'group ' + where + part.name + ' (starting with ' + part.tag + ')' if part.is_group else 'segment ' + part.tag} missing; found {found}",  # noqa: E501
            )
        if count == part.maxrepeat and pos < len(tags) and tags[pos] == part.tag:
            raise RecordError(
                f"segment {pos + 1}",
                f"{part.tag} repeats more than the {part.maxrepeat} times"
                f" {where}{part.name} allows",
            )
    return pos


def check_structure(message: str, directory: str, tags: Sequence[str]) -> None:
    """Raise RecordError naming the segment position unless tags follow the definition."""
    end = _match(structure(message, directory), tags, 0, "")
    if end != len(tags):
        raise RecordError(
            f"segment {end + 1}", f"{tags[end]} is not expected here in {message} D.{directory}"
        )


# ---------------------------------------------------------------- reading


def _el(seg: Segment, index: int, comp: int | None = None) -> str | None:
    """Element index of seg (component comp when given), None when absent or empty."""
    if index >= len(seg.elements):
        return None
    value: Any = seg.elements[index]
    if isinstance(value, list):
        value = value[comp or 0] if (comp or 0) < len(value) else None
    elif comp not in (None, 0):
        return None
    return str(value) if value else None


@dataclass
class Parsed:
    """A message as segments, with the interchange header it came in."""

    unb: Segment | None
    segments: list[Segment]  # UNH .. UNT
    characters: Characters


def _segments(text: str) -> Iterator[Segment]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingImplementationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        yield from Parser().parse(text)


def _serialise(parsed: Parsed) -> bytes:
    ser = Serializer(parsed.characters)
    head = [parsed.unb] if parsed.unb is not None else []
    return ser.serialize([*head, *parsed.segments], with_una_header=True).encode()


def _characters(text: str) -> Characters:
    start = text.find("UNA")
    if start != -1 and start < 10:
        return Characters.from_str(text[start : start + 9])
    return Characters()  # type: ignore[no-untyped-call]


def read_messages(text: str) -> Iterator[SourceRecord]:
    """Every message of an interchange as a record (unreadable parts as records with an error)."""
    chars = _characters(text)
    unb: Segment | None = None
    current: list[Segment] | None = None
    start = 0
    count = 0
    position = 0
    try:
        for position, seg in enumerate(_segments(text), 1):
            if seg.tag == "UNB":
                unb = seg
            elif seg.tag == "UNH":
                if current is not None:
                    yield _broken(unb, current, chars, count, start, "UNH without UNT before it")
                current, start = [seg], position
                count += 1
            elif current is not None:
                current.append(seg)
                if seg.tag == "UNT":
                    parsed = Parsed(unb, current, chars)
                    ref = _el(current[0], 0) or "?"
                    yield SourceRecord(
                        f"message {count} (ref {ref}), segments {start}-{position}",
                        start,
                        _serialise(parsed),
                        parsed=parsed,
                    )
                    current = None
    except (EDISyntaxError, ValueError) as exc:
        yield SourceRecord(
            f"segment {position + 1}", position + 1, text.encode(),
            error=f"EDIFACT syntax: {exc}",
        )  # fmt: skip
        return
    if current is not None:
        yield _broken(unb, current, chars, count, start, "message not closed by UNT")


def _broken(
    unb: Segment | None, segs: list[Segment], chars: Characters, n: int, start: int, why: str
) -> SourceRecord:
    parsed = Parsed(unb, segs, chars)
    return SourceRecord(
        f"message {n}, segment {start}", start, _serialise(parsed), error=f"UNH: {why}"
    )


def _edi_time(seg: Segment) -> str | None:
    """The UTC stored form of a DTM segment's date-time (formats 203, 303, 102, 204)."""
    value, fmt = _el(seg, 0, 1), _el(seg, 0, 2) or "203"
    if value is None:
        return None
    try:
        if fmt == "203":
            moment = datetime.strptime(value, "%Y%m%d%H%M").replace(tzinfo=UTC)
        elif fmt == "204":
            moment = datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        elif fmt == "102":
            moment = datetime.strptime(value, "%Y%m%d").replace(tzinfo=UTC)
        elif fmt == "303":
            zone = value[12:]
            moment = datetime.strptime(value[:12], "%Y%m%d%H%M").replace(tzinfo=UTC)
            if zone:  # '+01', '-0300', or 'ZZZ' time zone hours
                sign = -1 if zone.startswith("-") else 1
                digits = zone.lstrip("+-")
                hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
                moment -= sign * timedelta(hours=hours, minutes=minutes)
        else:
            raise RecordError("DTM", f"date-time format {fmt}: expected 203, 204, 303 or 102")
    except ValueError:
        raise RecordError("DTM", f"{value!r} is not a date-time of format {fmt}") from None
    return moment.replace(tzinfo=None).isoformat(" ", "microseconds")


def _location(segs: Sequence[Segment], qualifiers: Sequence[str]) -> tuple[str | None, str | None]:
    """(UN/LOCODE, terminal code) of the first LOC with one of qualifiers, in that order."""
    for qualifier in qualifiers:
        for seg in segs:
            if seg.tag == "LOC" and _el(seg, 0) == qualifier:
                code = _el(seg, 1, 0)
                if code is not None and not is_unlocode(code):
                    raise RecordError(f"LOC+{qualifier}", f"expected a UN/LOCODE, got {code!r}")
                return code, _el(seg, 2, 0)
    return None, None


class Edifact(Adapter):
    """CODECO, COARRI and IFTSTA interchanges."""

    name = "edifact"
    formats = ("edifact",)

    def sniff(self, head: bytes) -> str | None:
        text = head.lstrip(b"\xef\xbb\xbf \r\n\t")
        if text.startswith((b"UNA", b"UNB")) and any(m.encode() in head for m in MESSAGES):
            return "edifact"
        return None

    def records(self, stream: IO[bytes], fmt: str) -> Iterator[SourceRecord]:
        data = stream.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        return read_messages(text)

    def convert(
        self, record: SourceRecord, fmt: str, strict: bool
    ) -> EventRow | Retract | list[EventRow]:
        parsed = record.parsed
        if not isinstance(parsed, Parsed):
            found = list(read_messages(record.raw.decode("utf-8", "replace")))
            if len(found) != 1 or found[0].error or not isinstance(found[0].parsed, Parsed):
                raise RecordError("", (found[0].error or "") if found else "no EDIFACT message")
            parsed = found[0].parsed
        return convert_message(parsed)


def convert_message(parsed: Parsed) -> list[EventRow]:
    """The canonical events of one message (one per container)."""
    segs = parsed.segments
    unh = segs[0]
    mtype, version = _el(unh, 1, 0), _el(unh, 1, 2)
    if mtype not in MESSAGES or version not in DIRECTORIES:
        raise RecordError(
            "UNH",
            f"message {mtype} D.{version}: expected CODECO, COARRI or IFTSTA of D.95B or D.00B",
        )
    tags = [s.tag for s in segs]
    check_structure(mtype, version, tags)
    declared = _el(segs[-1], 0)
    if declared is not None and declared != str(len(segs)):
        raise RecordError("UNT", f"counts {declared} segments, the message has {len(segs)}")
    sender = (_el(parsed.unb, 1, 0) if parsed.unb is not None else None) or "unknown"
    ref = _el(unh, 0) or ""
    fmt = f"edifact-d{version.lower()}-{mtype.lower()}"
    bgm = segs[1]
    if mtype == "IFTSTA":
        return _iftsta(segs, sender, ref, fmt)
    code = DOCUMENT_CODES[mtype].get(_el(bgm, 0) or "")
    if code is None:
        expected = ", ".join(f"{k} ({v})" for k, v in DOCUMENT_CODES[mtype].items())
        raise RecordError("BGM", f"document code {_el(bgm, 0)!r}: expected {expected}")
    first_eqd = tags.index("EQD")
    header = segs[:first_eqd]
    place_qualifiers = {"LOAD": ("9", "5"), "DISC": ("11", "12"), "GTIN": ("165", "9", "11"),
                        "GTOT": ("165", "11", "9")}[code]  # fmt: skip
    header_loc = _location(header, place_qualifiers)
    call = _transport(header)
    rows: list[EventRow] = []
    for group in _groups(segs[first_eqd:], "EQD"):
        rows.append(_equipment_event(group, header, header_loc, place_qualifiers, code, call,
                                     sender, ref, fmt, bgm))  # fmt: skip
    return rows


def _groups(segs: Sequence[Segment], trigger: str) -> Iterator[list[Segment]]:
    group: list[Segment] | None = None
    for seg in segs:
        if seg.tag == trigger:
            if group:
                yield group
            group = [seg]
        elif seg.tag in ("CNT", "UNT"):
            break
        elif group is not None:
            group.append(seg)
    if group:
        yield group


def _transport(segs: Sequence[Segment]) -> TransportCall | None:
    for seg in segs:
        if seg.tag == "TDT" and _el(seg, 0) == "20":
            voyage = _el(seg, 1)
            carrier = _el(seg, 4, 0)
            vessel_id, vessel_list, vessel_name = _el(seg, 7, 0), _el(seg, 7, 1), _el(seg, 7, 3)
            imo = vessel_id if vessel_list == "146" else None  # 146: Lloyd's register (IMO)
            key = f"{imo or vessel_id or ''}/{voyage or ''}/{carrier or ''}"
            mode = "VESSEL" if _el(seg, 2) in ("1", None) else None
            return (key, mode, imo, vessel_name or vessel_id, voyage, carrier)
    return None


def _equipment_event(
    group: list[Segment],
    header: list[Segment],
    header_loc: tuple[str | None, str | None],
    qualifiers: Sequence[str],
    code: str,
    call: TransportCall | None,
    sender: str,
    ref: str,
    fmt: str,
    bgm: Segment,
) -> EventRow:
    eqd = group[0]
    container = _el(eqd, 1, 0)
    if container is None:
        raise RecordError("EQD", "equipment identification (C237) missing")
    iso = _el(eqd, 2, 0)
    empty = EMPTY_FULL.get(_el(eqd, 5) or "")
    time = None
    for seg in group:
        if seg.tag == "DTM" and _el(seg, 0, 0) in ("203", "7", "178", "186"):
            time = _edi_time(seg)
            break
    if time is None:
        for seg in header:
            if seg.tag == "DTM" and _el(seg, 0, 0) in ("137", "178", "186", "133", "132"):
                time = _edi_time(seg)
                break
    if time is None:
        raise RecordError(f"EQD {container}", "no date-time of the event (DTM 203 or 137)")
    unlocode, facility = _location(group, ("165",))
    if unlocode is None:
        unlocode, facility = header_loc
    booking = bl = stowage = None
    for seg in group:
        if seg.tag == "RFF":
            qualifier, value = _el(seg, 0, 0), _el(seg, 0, 1)
            if qualifier == "BN":
                booking = value
            elif qualifier == "BM":
                bl = value
        elif seg.tag == "LOC" and _el(seg, 0) == "147":
            stowage = _el(seg, 1, 0)
    seals = [
        {"number": _el(s, 0, 0), "source": _seal_party(_el(s, 1)), "type": None}
        for s in group
        if s.tag == "SEL" and _el(s, 0, 0)
    ]
    extra = {k: v for k, v in (("stowage", stowage), ("document_id", _el(bgm, 1)),
                               ("times", "read as UTC")) if v}  # fmt: skip
    return (
        f"edifact:{sender}:{ref}:{container}", fmt, "EQUIPMENT", code, "ACT", time,
        container, iso, empty, unlocode, facility, None, None,
        _enc.encode(seals).decode() if seals else None, booking, bl,
        container_warning(container), _enc.encode(extra).decode(), call,
    )  # fmt: skip


def _seal_party(code: str | None) -> str | None:
    """EDIFACT 9303 sealing party as DCSA's seal source."""
    return {"CA": "CAR", "SH": "SHI", "CU": "CUS", "AC": "VET", "TO": "TER", "CN": "CNS"}.get(
        code or "", code
    )


def _iftsta(segs: list[Segment], sender: str, ref: str, fmt: str) -> list[EventRow]:
    rows: list[EventRow] = []
    bgm = segs[1]
    statuses = [i for i, s in enumerate(segs) if s.tag == "STS"]
    for n, index in enumerate(statuses):
        end = statuses[n + 1] if n + 1 < len(statuses) else len(segs)
        block = segs[index:end]
        status = _el(block[0], 1, 0)
        code = status if status in DCSA_EQUIPMENT_CODES else None
        time = None
        for seg in block:
            if seg.tag == "DTM":
                time = _edi_time(seg)
                break
        if time is None:
            raise RecordError(f"STS {n + 1}", "no date-time of the status (DTM)")
        unlocode, facility = _location(block, ("175", "165", "5", "9", "11"))
        call = _transport([s for s in block if s.tag == "TDT"])
        for group in _groups(block, "EQD"):
            container = _el(group[0], 1, 0)
            if container is None:
                raise RecordError("EQD", "equipment identification (C237) missing")
            seals = [{"number": _el(s, 0, 0), "source": _seal_party(_el(s, 1)), "type": None}
                     for s in group if s.tag == "SEL" and _el(s, 0, 0)]  # fmt: skip
            extra: dict[str, Any] = {"status_code": status, "document_id": _el(bgm, 1)}
            rows.append((
                f"edifact:{sender}:{ref}:{container}:{n}", fmt, "EQUIPMENT", code, "ACT", time,
                container, _el(group[0], 2, 0), EMPTY_FULL.get(_el(group[0], 5) or ""),
                unlocode, facility, None, None,
                _enc.encode(seals).decode() if seals else None, None, None,
                container_warning(container),
                _enc.encode({k: v for k, v in extra.items() if v}).decode(), call,
            ))  # fmt: skip
    if not rows:
        raise RecordError("STS", "no container status (STS with EQD) in the message")
    return rows


ADAPTERS.register(Edifact.name, Edifact())
