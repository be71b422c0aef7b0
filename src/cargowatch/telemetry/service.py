"""Reading device messages (NDJSON or MQTT payloads) into the telemetry table, each (device, ts)
once; bad messages go to quarantine with the field and the reason."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct
from sqlalchemy.orm import Session

from cargowatch.auth.principal import Principal
from cargowatch.db.bulk import bulk_write
from cargowatch.ingest.adapters.base import RecordError, SourceRecord, record_error_from_msgspec
from cargowatch.ingest.adapters.dcsa_tnt import utc_text
from cargowatch.ingest.validation import container_warning
from cargowatch.telemetry.models import Reading

COLUMNS = ("org_id", "device_id", "container", "ts", "latitude", "longitude", "door",
           "light_lux", "shock_g", "temperature_c", "eseal_id", "eseal_status", "warnings",
           "run_id")  # fmt: skip
Quarantine = Callable[[list[tuple[SourceRecord, RecordError]]], None]


class ESeal(Struct, gc=False):
    seal_id: Annotated[str, Meta(max_length=50)] | None = None
    status: Literal["SEALED", "OPENED"] | None = None


class Message(Struct, gc=False):
    device_id: Annotated[str, Meta(min_length=1, max_length=100)]
    container: Annotated[str, Meta(min_length=1, max_length=15)]
    ts: str
    latitude: float | None = None
    longitude: float | None = None
    door: Literal["OPEN", "CLOSED"] | None = None
    light_lux: float | None = None
    shock_g: float | None = None
    temperature_c: float | None = None
    eseal: ESeal | None = None


_decoder = msgspec.json.Decoder(Message)


def sniff(head: bytes) -> bool:
    """Whether a source looks like device messages (JSON objects with device_id and ts)."""
    return b'"device_id"' in head and b'"ts"' in head and b'"eventID"' not in head


def to_row(raw: bytes, org_id: int, run_id: int | None) -> tuple[object, ...]:
    """One message as a telemetry row; raises RecordError naming the field."""
    try:
        m = _decoder.decode(raw)
    except msgspec.MsgspecError as exc:
        raise record_error_from_msgspec(exc, Message) from None
    except (ValueError, RecursionError) as exc:  # bytes that are not UTF-8; nesting too deep
        raise RecordError("", f"unreadable JSON: {type(exc).__name__}") from None
    if m.latitude is not None and not -90 <= m.latitude <= 90:
        raise RecordError("latitude", f"expected degrees between -90 and 90, got {m.latitude}")
    if m.longitude is not None and not -180 <= m.longitude <= 180:
        raise RecordError("longitude", f"expected degrees between -180 and 180, got {m.longitude}")
    seal = m.eseal
    return (
        org_id, m.device_id, m.container, utc_text(m.ts, "ts"), m.latitude, m.longitude, m.door,
        m.light_lux, m.shock_g, m.temperature_c, seal.seal_id if seal else None,
        seal.status if seal else None, container_warning(m.container), run_id,
    )  # fmt: skip


def write(session: Session, rows: Iterable[tuple[object, ...]]) -> int:
    """Store readings; one already stored for the same device and time is skipped."""
    return bulk_write(session, Reading.__table__, COLUMNS, rows,  # type: ignore[arg-type]
                      key=("org_id", "device_id", "ts"), update=False)  # fmt: skip


def ingest_messages(
    session: Session,
    *,
    principal: Principal,
    run_id: int | None,
    records: Iterable[SourceRecord],
    quarantine: Quarantine,
    batch_size: int = 20_000,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int, int, int]:
    """Read device messages: (read, stored, duplicates, quarantined)."""
    principal.require("events:write")
    read = stored = quarantined = 0
    rows: list[tuple[object, ...]] = []
    bad: list[tuple[SourceRecord, RecordError]] = []
    for record in records:
        read += 1
        try:
            if record.error is not None:
                raise RecordError("", record.error)
            rows.append(to_row(record.raw, principal.org_id, run_id))
        except RecordError as err:
            bad.append((record, err))
        if len(rows) >= batch_size:
            stored += write(session, rows)
            if progress is not None:
                progress(len(rows))
            rows.clear()
    if rows:
        stored += write(session, rows)
    if bad:
        quarantine(bad)
        quarantined = len(bad)
    return read, stored, read - stored - quarantined, quarantined


def readings_for_container(
    session: Session, *, principal: Principal, container: str, limit: int = 10_000
) -> list[Reading]:
    """Telemetry of a container the caller may see, oldest first."""
    from sqlalchemy import select

    from cargowatch.sharing.service import record_use, visible

    principal.require("events:read")
    rows = list(
        session.scalars(
            select(Reading)
            .where(
                Reading.container == container.strip().upper(),
                visible(principal, Reading.org_id, Reading.container, "telemetry"),
            )
            .order_by(Reading.ts)
            .limit(limit)
        )
    )
    record_use(session, principal, (r.org_id for r in rows), "telemetry", len(rows))
    return rows
