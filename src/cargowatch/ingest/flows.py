"""Ingest flows: the transactions around the ingest services (a run, its files, its audit)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from cargowatch.auth.principal import Principal
from cargowatch.config import get_settings
from cargowatch.db.engine import (
    create_missing_indexes,
    get_engine,
    refresh_statistics,
    unit_of_work,
)
from cargowatch.events.models import Event
from cargowatch.exceptions import InvalidInput, NothingReadable
from cargowatch.ingest import service
from cargowatch.ingest.models import IngestRun
from cargowatch.ingest.service import Counts

FileProgress = Callable[[str, int], None]


def expand_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named, and every file below folders named (hidden ones skipped), in a stable order."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(p.startswith(".") for p in child.parts[-1:]):
                    yield child
        elif path.is_file():
            yield path
        else:
            raise InvalidInput(f"{path}: no such file or folder")


# Registers of things first, so that logs and manifests can tell known references from unknown.
_ORDER = {"parties": 0, "sites": 1, "persons": 2, "manifest": 4, "access": 4, "releases": 4,
          "inspections": 4}  # fmt: skip


def _rank(path: Path) -> int:
    from cargowatch.registers.service import detect

    with path.open("rb") as f:
        register, _problem = detect(f.read(65536))
    return _ORDER[register.name] if register is not None else 3


def _abandon(
    engine: Engine, principal: Principal, run_id: int, counts: Counts, exc: BaseException
) -> None:
    """End a run that an unexpected error stopped: status failed (or partial when files before
    the error were stored), the error in its audit entry. What was committed stays."""
    try:
        with unit_of_work(engine) as session:
            run = session.get(IngestRun, run_id)
            if run is None or run.status != "running":
                return
            counts.notes.append(f"stopped by an error: {type(exc).__name__}: {str(exc)[:300]}")
            service.finish_run(
                session, principal=principal, run=run, counts=counts,
                status="partial" if counts.stored else "failed",
            )  # fmt: skip
    except Exception:  # the store itself is gone: the first error is the news
        return


def _finish(
    engine: Engine, principal: Principal, run_id: int, counts: Counts
) -> tuple[IngestRun, Counts]:
    with unit_of_work(engine) as session:
        counts.retracted = service.apply_retractions(session, principal=principal)
        usable = counts.stored + counts.duplicates + counts.retracted
        status = "done" if not counts.quarantined else "partial" if usable else "failed"
        run = session.get(IngestRun, run_id)
        assert run is not None
        run = service.finish_run(
            session, principal=principal, run=run, counts=counts, status=status
        )
    return run, counts


# Secondary indexes of events, dropped during a bulk load and built again after it: building an
# index once over sorted keys is several times cheaper than keeping it up to date row by row.
DEFERRABLE_INDEXES = ("ix_events_container_time", "ix_events_booking")
BULK_BYTES = 64 * 1024 * 1024  # a load this big ...
BULK_SHARE = 0.5  # ... that adds more than this share of the events already stored


def _is_bulk(session: Session, total_bytes: int) -> bool:
    if total_bytes < BULK_BYTES:
        return False
    existing = session.scalar(select(func.max(Event.id))) or 0
    return total_bytes / AVERAGE_EVENT_BYTES > existing * BULK_SHARE


AVERAGE_EVENT_BYTES = 600


def _drop_deferrable_indexes(session: Session) -> None:
    for name in DEFERRABLE_INDEXES:
        session.execute(text(f"DROP INDEX IF EXISTS {name}"))


def _custody(principal: Principal, run_id: int, engine: Engine) -> None:
    """Rebuild the trips the run touched, then rescore them."""
    from cargowatch.custody.flows import update_after_run
    from cargowatch.risk.flows import update_after_ingest

    boxes = update_after_run(principal=principal, run_id=run_id, engine=engine)
    if boxes is None or boxes:
        update_after_ingest(principal=principal, containers=boxes, engine=engine)


def ingest_paths(
    *,
    principal: Principal,
    paths: Iterable[Path],
    fmt: str | None = None,
    engine: Engine | None = None,
    on_file: Callable[[Path, int], Callable[[int], None] | None] | None = None,
    update_custody: bool = True,
) -> tuple[IngestRun, Counts]:
    """Ingest files and folders as one run; each file is committed on its own. The trips of the
    containers it touched are rebuilt and rescored after it (update_custody)."""
    engine = engine or get_engine()
    files = sorted(expand_paths(paths), key=_rank)  # stable: the given order within a rank
    if not files:
        raise InvalidInput("no files to ingest")
    batch = get_settings().ingest_batch_size
    with unit_of_work(engine) as session:
        run_id = service.start_run(
            session, principal=principal, source=", ".join(str(f) for f in files)
        ).id
        bulk = _is_bulk(session, sum(f.stat().st_size for f in files))
        if bulk:
            _drop_deferrable_indexes(session)
    total = Counts()
    try:
        for path in files:
            progress = on_file(path, path.stat().st_size) if on_file else None
            with path.open("rb") as stream, unit_of_work(engine) as session:
                counts = service.ingest_stream(
                    session, principal=principal, run_id=run_id, stream=stream,
                    source=str(path), fmt=fmt, batch_size=batch, progress=progress,
                )  # fmt: skip
            total.add(counts)
    except BaseException as exc:
        _abandon(engine, principal, run_id, total, exc)
        raise
    finally:
        if bulk:
            create_missing_indexes(engine)
    refresh_statistics(engine)
    run, total = _finish(engine, principal, run_id, total)
    if update_custody and (total.stored or total.retracted):
        _custody(principal, run.id, engine)
    if total.read and not (total.stored + total.duplicates + total.retracted):
        raise NothingReadable(
            f"nothing could be read: {total.quarantined} records quarantined "
            f"(run {run.id}; see 'cargowatch quarantine list --run {run.id}')"
        )
    return run, total


def ingest_bytes(
    *,
    principal: Principal,
    stream: IO[bytes],
    source: str,
    fmt: str | None = None,
    engine: Engine | None = None,
) -> tuple[IngestRun, Counts]:
    """Ingest one in-memory source (an API upload) as one run."""
    engine = engine or get_engine()
    with unit_of_work(engine) as session:
        run_id = service.start_run(session, principal=principal, source=source).id
    try:
        with unit_of_work(engine) as session:
            counts = service.ingest_stream(
                session, principal=principal, run_id=run_id, stream=stream, source=source,
                fmt=fmt, batch_size=get_settings().ingest_batch_size,
            )  # fmt: skip
    except BaseException as exc:
        _abandon(engine, principal, run_id, Counts(), exc)
        raise
    run, counts = _finish(engine, principal, run_id, counts)
    if counts.stored or counts.retracted:
        _custody(principal, run.id, engine)
    return run, counts


def replay_quarantine(
    *, principal: Principal, ids: list[int] | None, engine: Engine | None = None
) -> tuple[IngestRun, Counts]:
    """Replay quarantined records (all open ones when ids is None) as a new run."""
    engine = engine or get_engine()
    with unit_of_work(engine) as session:
        run_id = service.start_run(session, principal=principal, source="quarantine replay").id
    try:
        with unit_of_work(engine) as session:
            counts = service.replay(session, principal=principal, run_id=run_id, ids=ids)
    except BaseException as exc:
        _abandon(engine, principal, run_id, Counts(), exc)
        raise
    return _finish(engine, principal, run_id, counts)
