"""Reading CSV registers into the store (vectorised with polars) and reading them back.

Every row is checked column by column at once; a row that fails goes to quarantine with its
line, the column and what was expected, the rest are written in bulk. A row is stored once by
its register's key: registers of things (parties, sites, manifest, persons) keep the newest
version of a row, logs (access, releases, inspections) keep each happening once. References to
a party, a container or a badge that the organisation has never seen are kept and flagged.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections.abc import Callable, Iterator
from typing import IO, Any

import polars as pl
from sqlalchemy import ColumnElement, Table, and_, func, select, text
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.db.base import utcnow
from cargowatch.db.bulk import bulk_write
from cargowatch.events.models import Event
from cargowatch.exceptions import InvalidInput, PermissionDenied
from cargowatch.registers.specs import REGISTERS, TABLES, Field, Register
from cargowatch.sharing.service import personal_owners

_CONTAINER = r"^[A-Z]{4}[0-9]{7}$"
_LOCODE = r"^[A-Z]{2}[A-Z2-9]{3}$"
_DATETIME = "%Y-%m-%dT%H:%M:%S%.f%#z"
BATCH_ROWS = 250_000


def header_of(head: bytes) -> list[str]:
    """The column names of a CSV whose first bytes are head."""
    first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].decode("utf-8", "replace")
    return [c.strip().strip('"') for c in first.rstrip("\r").split(",")]


def detect(head: bytes) -> tuple[Register | None, str | None]:
    """The register a CSV header names, or an error when it is close to one but lacks columns."""
    header = set(header_of(head))
    if len(header) < 2:
        return None, None
    best, best_share = None, 0.0
    for reg in REGISTERS.values():
        share = len(header & set(reg.columns)) / len(reg.columns)
        if share > best_share:
            best, best_share = reg, share
    if best is None or best_share < 0.5:
        return None, None
    if best_share < 1.0:
        missing = [c for c in best.columns if c not in header]
        return None, f"looks like {best.name}.csv but lacks columns: {', '.join(missing)}"
    return best, None


# ---------------------------------------------------------------- checks, one column at a time


EXPECTED = {  # what a typed cell (or a filter on it) must hold, in words
    "date": "a date YYYY-MM-DD",
    "datetime": "an ISO 8601 date-time with an offset",
    "bool": "true or false",
    "float": "a number",
}


def _parsed(f: Field) -> pl.Expr:
    """The stored value of a column, null where the cell cannot be read as its type.

    Times become UTC text, so that both stores read them alike.
    """
    col = pl.col(f.name)
    if f.kind == "datetime":
        parsed = col.str.replace(r"[Zz]$", "+00:00").str.to_datetime(
            _DATETIME, time_zone="UTC", strict=False
        )
        return parsed.dt.strftime("%Y-%m-%d %H:%M:%S.%6f")
    if f.kind == "date":
        return col.str.to_date("%Y-%m-%d", strict=False).cast(pl.String)
    if f.kind == "bool":
        low = col.str.to_lowercase()
        return pl.when(low == "true").then(True).when(low == "false").then(False)
    if f.kind == "float":
        return col.str.strip_chars().cast(pl.Float64, strict=False)
    if f.kind == "list":
        return col.str.split(";").list.eval(pl.element().str.strip_chars()).list.join(";")
    return col.str.strip_chars()


def _problem(f: Field) -> pl.Expr:
    """The reason a cell fails ('column\x1freason'), or null; reads the _parsed columns."""
    col, parsed = pl.col(f.name), pl.col(f"_v_{f.name}")
    expected = EXPECTED.get(f.kind)
    bad: pl.Expr | None = parsed.is_null() if expected else None
    if f.kind == "enum":
        bad, expected = ~col.is_in(list(f.values)), f"one of {', '.join(f.values)}"
    elif f.kind == "list" and f.values:
        items = parsed.str.split(";")
        bad = items.list.eval(~pl.element().is_in(list(f.values))).list.any()
        expected = f"';'-separated values among {', '.join(f.values)}"
    elif f.kind == "locode":
        from cargowatch.ingest.validation import countries

        known = ~col.str.slice(0, 2).is_in(sorted(countries()))
        bad, expected = ~col.str.contains(_LOCODE) | known, "a UN/LOCODE (e.g. BEANR)"
    longest = 5 if f.kind == "locode" else None if f.kind == "list" else 200
    if longest is not None:  # the column's width (PostgreSQL refuses longer text)
        long = pl.when(col.str.len_chars() > longest).then(
            pl.lit(f"{f.name}\x1flonger than {longest} characters")
        )
    reasons = [long] if longest is not None else []
    reasons += [pl.when(col.str.contains("\x00", literal=True))
               .then(pl.lit(f"{f.name}\x1fa NUL character, which no field may hold"))]  # fmt: skip
    if f.required:
        reasons.append(pl.when(col.is_null()).then(pl.lit(f"{f.name}\x1frequired")))
    if bad is not None:
        got = pl.lit(f"{f.name}\x1fexpected {expected}, got '") + col + pl.lit("'")
        reasons.append(pl.when(col.is_not_null() & bad).then(got))
    if not reasons:
        return pl.lit(None, dtype=pl.String)
    return pl.coalesce(reasons)


def _stored(f: Field, in_key: bool) -> pl.Expr:
    out = pl.col(f"_v_{f.name}")
    if in_key and f.kind not in ("bool", "float"):
        out = out.fill_null("")
    return out.alias(f.name)


def _known(session: Session, principal: Principal) -> dict[str, pl.Series]:
    org = principal.org_id
    parties = TABLES["parties"]
    persons = TABLES["persons"]
    return {
        "party": pl.Series(
            session.scalars(select(parties.c.party_id).where(parties.c.org_id == org)).all(),
            dtype=pl.String,
        ),
        "badge": pl.Series(
            session.scalars(
                select(persons.c.badge_id).where(persons.c.org_id == org).distinct()
            ).all(),
            dtype=pl.String,
        ),
        "container": pl.Series(
            session.scalars(select(Event.container).where(Event.org_id == org).distinct()).all(),
            dtype=pl.String,
        ),
    }


def _flags(reg: Register, known: dict[str, pl.Series]) -> pl.Expr:
    parts = []
    for f in reg.fields:
        if f.ref is None:
            continue
        pool = known[f.ref]
        what = {"party": "party", "container": "container", "badge": "badge"}[f.ref]
        col = pl.col(f.name)
        parts.append(
            pl.when(col.is_not_null() & (col != "") & ~col.is_in(pool.implode())).then(
                pl.lit(f"unknown {what} {f.name}=") + col
            )
        )
    if not parts:
        return pl.lit(None, dtype=pl.String).alias("flags")
    return pl.concat_str(parts, separator="; ", ignore_nulls=True).alias("flags")


def _batches(stream: IO[bytes], reg: Register) -> Iterator[pl.DataFrame]:
    lazy = pl.scan_csv(stream, infer_schema=False)
    lazy = lazy.with_row_index("line", offset=2)
    yield from lazy.collect_batches(chunk_size=BATCH_ROWS)


def _checked_rows(stream: IO[bytes], spool: IO[bytes], skip: int) -> list[tuple[int, bytes, str]]:
    """Copy a CSV whose columns polars could not read (bytes that are not UTF-8, rows with
    too many or too few cells) to spool, good rows only, each with its line number in a first
    column '_line'; the bad rows come back as (line, raw bytes, reason). The first skip data
    rows were stored already and are passed over."""
    import csv

    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="surrogateescape", newline="")
    out = io.TextIOWrapper(spool, encoding="utf-8", newline="", write_through=True)
    reader = csv.reader(text)
    writer = csv.writer(out, lineterminator="\n")
    header = next(reader, None) or []
    header = [h.lstrip("\ufeff") for h in header]
    writer.writerow(["_line", *header])
    head = (",".join(header) + "\n").encode()
    bad: list[tuple[int, bytes, str]] = []
    rows = 0
    start = reader.line_num + 1
    try:
        for row in reader:
            rows += 1
            line, start = start, reader.line_num + 1
            if rows <= skip:
                continue
            joined = ",".join(row)
            raw = head + joined.encode("utf-8", "surrogateescape")  # replayable with its header
            if any("\udc80" <= ch <= "\udcff" for ch in joined):
                at = next(i for i, ch in enumerate(joined) if "\udc80" <= ch <= "\udcff")
                bad.append((line, raw, f"not UTF-8 text: byte 0x{ord(joined[at]) - 0xDC00:02x}"))
            elif len(row) != len(header):
                bad.append((line, raw, f"expected {len(header)} cells as in the header, got "
                                       f"{len(row)}"))  # fmt: skip
            else:
                writer.writerow([line, *row])
    except csv.Error as exc:  # a quote never closed: the rest of the file is one bad record
        rest = stream.read(65536)
        bad.append((start, rest, f"malformed CSV: {exc}"))
    out.detach()
    text.detach()
    spool.seek(0)
    return bad


def _small(session: Session, table: Table, incoming: int) -> bool:
    """Whether table holds so few rows that building its indexes after a load is cheaper."""
    return (session.scalar(select(func.max(table.c.id))) or 0) < incoming * 2


def _drop_secondary_indexes(session: Session, table: Table) -> bool:
    """Drop a register's secondary indexes for a bulk load (they are built again after it)."""
    for index in table.indexes:
        session.execute(text(f"DROP INDEX IF EXISTS {index.name}"))
    return bool(table.indexes)


def ingest_csv(
    session: Session,
    *,
    principal: Principal,
    run_id: int | None,
    stream: IO[bytes],
    source: str,
    register: Register,
    quarantine: Callable[[Session, list[dict[str, object]]], None],
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int, int, int, list[str]]:
    """Read one register file: (read, stored, duplicates, quarantined, notes)."""
    if register.personal:
        principal.require("events:write")
    header = header_of(stream.read(65536))
    stream.seek(0)
    notes = []
    ignored = [c for c in header if c not in register.columns]
    if ignored:
        notes.append(f"{source}: ignored columns not in {register.name}.csv: {', '.join(ignored)}")
    parse = [_parsed(f).alias(f"_v_{f.name}") for f in register.fields]
    checks = [_problem(f) for f in register.fields]
    typed = [_stored(f, f.name in register.key) for f in register.fields]
    known = _known(session, principal)
    table = TABLES[register.name]
    read = stored = duplicates = quarantined = flagged = 0
    deferred = False

    def handle(batch: pl.DataFrame) -> None:
        nonlocal read, stored, duplicates, quarantined, flagged, deferred
        if not deferred and batch.height >= BATCH_ROWS and _small(session, table, batch.height):
            deferred = _drop_secondary_indexes(session, table)
        batch = batch.select(["line", *register.columns])
        checked = batch.with_columns(parse).with_columns(pl.coalesce(checks).alias("_error"))
        bad = checked.filter(pl.col("_error").is_not_null())
        good = checked.filter(pl.col("_error").is_null())
        read += batch.height
        if bad.height:
            quarantine(session, _quarantine_rows(bad, register, principal, run_id, source))
            quarantined += bad.height
        if good.height:
            out = good.select(
                pl.lit(principal.org_id).alias("org_id"), *typed, _flags(register, known),
                pl.lit(run_id).alias("run_id"),
            )  # fmt: skip
            flagged += out.filter(pl.col("flags") != "").height
            out = out.with_columns(
                pl.when(pl.col("flags") == "").then(None).otherwise(pl.col("flags")).alias("flags")
            )
            new = bulk_write(
                session, table, out.columns, out.iter_rows(), key=("org_id", *register.key),
                update=register.update, volatile=("run_id",),
            )  # fmt: skip
            stored += new
            duplicates += good.height - new
        if progress is not None:
            progress(batch.height)

    done = 0  # data rows polars read before it met a row it could not (all of them good)
    try:  # polars reads a clean file at full speed
        for batch in _batches(stream, register):
            handle(batch)
            done += batch.height
    except pl.exceptions.PolarsError:  # bytes that are not UTF-8, a ragged row: row by row
        with tempfile.TemporaryFile() as spool:
            refused = _checked_rows(stream, spool, skip=done)
            if refused:
                quarantine(session, [
                    {"org_id": principal.org_id, "run_id": run_id, "source": source[:500],
                     "location": f"line {line}", "format": f"csv-{register.name}", "field": "",
                     "reason": reason, "raw": raw.decode("utf-8", "replace").replace("\x00", ""),
                     "fingerprint": hashlib.sha256(f"{source}\x1f{line}\x1f".encode() + raw)
                     .hexdigest(), "status": "open", "created_at": utcnow()}
                    for line, raw, reason in refused
                ])  # fmt: skip
                read += len(refused)
                quarantined += len(refused)
            lazy = pl.scan_csv(spool, infer_schema=False)
            for batch in lazy.collect_batches(chunk_size=BATCH_ROWS):
                if batch.height:
                    handle(batch.with_columns(pl.col("_line").cast(pl.UInt32).alias("line")))
    if deferred:
        for index in table.indexes:
            index.create(session.connection())
    if flagged:
        notes.append(f"{source}: {flagged} rows refer to parties, containers or badges not seen "
                     "yet (kept, and flagged)")  # fmt: skip
    return read, stored, duplicates, quarantined, notes


def _quarantine_rows(
    bad: pl.DataFrame, reg: Register, principal: Principal, run_id: int | None, source: str
) -> list[dict[str, object]]:
    import hashlib

    rows: list[dict[str, object]] = []
    header = ",".join(reg.columns)
    for rec in bad.iter_rows(named=True):
        field, _, reason = str(rec["_error"]).partition("\x1f")
        values = pl.DataFrame([{c: rec[c] for c in reg.columns}]).write_csv(include_header=False)
        raw = f"{header}\n{values}"
        location = f"line {rec['line']}"
        digest = hashlib.sha256(f"{source}\x1f{location}\x1f{raw}".encode()).hexdigest()
        rows.append({
            "org_id": principal.org_id, "run_id": run_id, "source": source[:500],
            "location": location, "format": f"csv-{reg.name}", "field": field,
            "reason": reason.replace("\x00", "\ufffd"), "raw": raw.replace("\x00", "\ufffd"),
            "fingerprint": digest, "status": "open", "created_at": utcnow(),
        })  # fmt: skip
    return rows


# ---------------------------------------------------------------- reading back


def filter_value(f: Field, value: str) -> Any:
    """A filter's text as the column's type; InvalidInput naming the column when it is not."""
    from datetime import date, datetime

    text_value = value.strip()
    try:
        if f.kind == "date":
            return date.fromisoformat(text_value)
        if f.kind == "datetime":
            parsed = datetime.fromisoformat(text_value.replace("z", "Z"))
            if parsed.tzinfo is None:
                raise ValueError("no offset")
            return parsed
        if f.kind == "bool":
            return {"true": True, "false": False}[text_value.lower()]
        if f.kind == "float":
            number = float(text_value)
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError("not finite")
            return number
    except (ValueError, KeyError):
        expected = EXPECTED[f.kind]
        raise InvalidInput(f"filter {f.name}: expected {expected}, got {value[:50]!r}") from None
    if len(text_value) > 200:
        raise InvalidInput(f"filter {f.name}: longer than 200 characters")
    return text_value


def list_rows(
    session: Session,
    *,
    principal: Principal,
    register: str,
    filters: dict[str, str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Rows of a register the caller may see, and how many there are; personal reads audited."""
    reg = REGISTERS.get(register)
    if reg is None:
        raise InvalidInput(f"unknown register {register!r}; known: {', '.join(REGISTERS)}")
    principal.require("events:read")
    table: Table = TABLES[register]
    where: ColumnElement[bool]
    if reg.personal:
        owners = personal_owners(session, principal)
        if not owners:
            raise PermissionDenied(
                f"{register} is personal data: only its employer organisation, and roles it "
                "grants, may read it"
            )
        where = table.c.org_id.in_(owners)
    else:
        where = table.c.org_id == principal.org_id
    conditions: list[ColumnElement[bool]] = [where]
    fields = {f.name: f for f in reg.fields}
    for name, value in (filters or {}).items():
        if name not in fields:
            raise InvalidInput(
                f"{register} has no column {name!r}; filter on one of {', '.join(reg.columns)}"
            )
        conditions.append(table.c[name] == filter_value(fields[name], value))
    query = select(table).where(and_(*conditions))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = [dict(r._mapping) for r in session.execute(query.order_by(table.c.id).limit(limit)
                                                      .offset(offset))]  # fmt: skip
    if reg.personal:
        audit.record(
            session, actor=principal, action=f"{register}.read", entity_type=register,
            entity_id=",".join(f"{k}={v}" for k, v in (filters or {}).items()) or "*",
            after={"rows": len(rows)},
        )  # fmt: skip
    return rows, total
