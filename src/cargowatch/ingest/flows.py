"""Ingest flows: the transactions around the ingest services (a run, its files, its audit)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from cargowatch.auth.principal import Principal
from cargowatch.config import get_settings, private_folder
from cargowatch.db.engine import (
    create_missing_indexes,
    get_engine,
    refresh_statistics,
    unit_of_work,
)
from cargowatch.events.models import Event
from cargowatch.exceptions import InvalidInput, NotFound, NothingReadable
from cargowatch.ingest import service
from cargowatch.ingest.models import IngestRun, QuarantineRecord
from cargowatch.ingest.schemas import IngestResult, QuarantineRead, RunRead
from cargowatch.ingest.service import Counts
from cargowatch.jobs.runner import handler, run_pending
from cargowatch.jobs.service import enqueue, worker_id

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
    engine: Engine, principal: Principal, run_id: int, counts: Counts, *, follow_up: bool = True
) -> tuple[IngestRun, Counts]:
    with unit_of_work(engine) as session:
        counts.retracted = service.apply_retractions(session, principal=principal)
        if follow_up and counts.retracted:
            _follow_up(session, principal.org_id, run_id)
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


CUSTODY_JOB = "custody.after-run"  # the custody domain's job (registered in custody.flows)
FOLLOW_UP = ("custody.after-run", "custody.containers", "risk.rescore")


def _follow_up(session: Session, org_id: int, run_id: int) -> None:
    """Queue the custody rebuild (and through it the rescoring) of what the run touched, in
    the transaction that stores the run's data: a kill after the commit loses no work."""
    enqueue(session, org_id=org_id, kind=CUSTODY_JOB, key=f"custody-run-{run_id}",
            payload={"run_id": run_id}, created_by=f"run {run_id}")  # fmt: skip


def _custody(principal: Principal, engine: Engine) -> None:
    """Run the organisation's due custody and rescoring jobs now (this run's, and any a killed
    run left behind); the whole-population rescoring that a seizure asks for stays with the
    worker."""
    run_pending(engine, org_id=principal.org_id, kinds=FOLLOW_UP, raise_errors=True)


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
        service.close_orphans(session, org_id=principal.org_id)
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
                if update_custody and counts.stored:
                    _follow_up(session, principal.org_id, run_id)
            total.add(counts)
    except BaseException as exc:
        _abandon(engine, principal, run_id, total, exc)
        raise
    finally:
        if bulk:
            create_missing_indexes(engine)
    refresh_statistics(engine)
    run, total = _finish(engine, principal, run_id, total, follow_up=update_custody)
    if update_custody:
        _custody(principal, engine)
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
    follow_up: bool = True,
) -> tuple[IngestRun, Counts]:
    """Ingest one source as one run; its custody and rescoring jobs are run now (follow_up)
    or left to the worker."""
    engine = engine or get_engine()
    with unit_of_work(engine) as session:
        service.close_orphans(session, org_id=principal.org_id)
        run_id = service.start_run(session, principal=principal, source=source).id
    try:
        with unit_of_work(engine) as session:
            counts = service.ingest_stream(
                session, principal=principal, run_id=run_id, stream=stream, source=source,
                fmt=fmt, batch_size=get_settings().ingest_batch_size,
            )  # fmt: skip
            if counts.stored:
                _follow_up(session, principal.org_id, run_id)
    except BaseException as exc:
        _abandon(engine, principal, run_id, Counts(), exc)
        raise
    run, counts = _finish(engine, principal, run_id, counts)
    if follow_up:
        _custody(principal, engine)
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
            if counts.stored:
                _follow_up(session, principal.org_id, run_id)
    except BaseException as exc:
        _abandon(engine, principal, run_id, Counts(), exc)
        raise
    done = _finish(engine, principal, run_id, counts)
    _custody(principal, engine)
    return done


# ---------------------------------------------------------------- uploads as jobs

UPLOAD_JOB = "ingest.upload"


class TooLarge(InvalidInput):
    """An upload over the size limit (nothing of it is kept)."""

    http_status = 413


async def spool(chunks: AsyncIterator[bytes], *, limit: int, folder: Path) -> Path:
    """Write an upload's chunks to a private spool file as they come, never holding it in
    memory; over limit bytes the file is removed and TooLarge raised."""
    private_folder(folder)
    fd, name = tempfile.mkstemp(prefix="upload-", dir=folder)
    path, size = Path(name), 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"upload over the {limit} byte limit")
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def queue_upload(
    *, principal: Principal, path: Path, source: str, fmt: str | None, engine: Engine | None = None
) -> IngestRun:
    """A run for a spooled upload and the job that ingests it, in one transaction; the run
    stays 'queued' until a worker takes it."""
    principal.require("events:write")
    if fmt is not None:
        service.check_format(fmt)
    engine = engine or get_engine()
    with unit_of_work(engine) as session:
        run = service.start_run(session, principal=principal, source=source, status="queued")
        enqueue(
            session, org_id=principal.org_id, kind=UPLOAD_JOB, key=f"upload-{run.id}",
            payload={"run_id": run.id, "path": str(path), "fmt": fmt, "user_id": principal.user_id},
            created_by=principal.label,
        )  # fmt: skip
    return run


@handler(UPLOAD_JOB)
def _upload_job(engine: Engine, org_id: int, payload: dict[str, Any]) -> None:
    """Ingest a spooled upload into its run (again from the start after a kill: stored
    records are duplicates then), queue its custody work, remove the spool file."""
    from cargowatch.auth.service import principal_for_user_id

    run_id, path = int(payload["run_id"]), Path(payload["path"])
    with unit_of_work(engine) as session:
        principal = principal_for_user_id(session, int(payload["user_id"]))
        run = session.get(IngestRun, run_id)
        if run is None or run.status not in ("queued", "running"):
            return  # finished before a kill took the worker: nothing left to do
        run.status, run.worker = "running", worker_id()
    if not path.exists():
        _abandon(engine, principal, run_id, Counts(), FileNotFoundError(f"{path} is gone"))
        return
    try:
        with path.open("rb") as stream, unit_of_work(engine) as session:
            counts = service.ingest_stream(
                session, principal=principal, run_id=run_id, stream=stream,
                source=run.source, fmt=payload.get("fmt"),
                batch_size=get_settings().ingest_batch_size,
            )  # fmt: skip
            if counts.stored:
                _follow_up(session, org_id, run_id)
    except BaseException as exc:
        _abandon(engine, principal, run_id, Counts(), exc)
        raise
    _finish(engine, principal, run_id, counts)
    path.unlink(missing_ok=True)


def run_upload_now(engine: Engine, run_id: int) -> None:
    """Ingest a queued upload in this process (the API's ?wait=true); its custody and
    rescoring stay with the worker."""
    run_pending(engine, kinds=(UPLOAD_JOB,), keys=(f"upload-{run_id}",))


def run_result(engine: Engine, principal: Principal, run_id: int) -> IngestResult:
    """A run of the caller's organisation with its notes and what it quarantined."""
    with unit_of_work(engine) as session:
        run = session.get(IngestRun, run_id)
        if run is None or run.org_id != principal.org_id:
            raise NotFound(f"no ingest run {run_id}")
        bad = session.scalars(
            select(QuarantineRecord)
            .where(QuarantineRecord.run_id == run.id)
            .order_by(QuarantineRecord.id)
            .limit(1000)
        ).all()
        return IngestResult(
            run=RunRead.of(run), notes=[], quarantined=[QuarantineRead.of(q) for q in bad]
        )
