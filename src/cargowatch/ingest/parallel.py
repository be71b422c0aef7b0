"""Converting a large source's records in worker processes while the caller writes.

Parsing and checking a record (msgspec decoding, field checks, building its row) costs about
as much as storing it, and both hold a core: a file past PARALLEL_FROM bytes is converted in
batches by a pool of processes, a few batches in flight, and handed back in the file's order,
so the caller writes one batch while the next ones are converted. Only adapters that convert
a record from its raw bytes alone say `parallel = True`; others, small sources and
`CARGOWATCH_INGEST_PROCESSES=0` convert inline, through the same function. A pool that breaks
(a worker killed) costs nothing but speed: its batch is converted inline.
"""

from __future__ import annotations

import atexit
import multiprocessing
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from cargowatch.ingest.adapters.base import (
    ADAPTERS,
    Adapter,
    EventRow,
    RecordError,
    Retract,
    SourceRecord,
)
from cargowatch.ingest.quarantine import unreadable

BATCH = 4000  # records per task: large enough to pay for the pickling, small enough to overlap
PARALLEL_FROM = 8 * 1024 * 1024  # bytes of a source before a pool is worth its start


@dataclass(frozen=True, slots=True)
class Failed:
    """A record that cannot be used, with the field and why (a RecordError that pickles)."""

    field: str
    reason: str

    def error(self) -> RecordError:
        """The RecordError this stands for."""
        return RecordError(self.field, self.reason)


Outcome = EventRow | Retract | list[EventRow] | Failed


def convert_one(adapter: Adapter, record: SourceRecord, fmt: str, strict: bool) -> Outcome:
    """One record's row(s), retraction, or why it failed; never raises."""
    if record.error is not None:
        return Failed("", record.error)
    try:
        return adapter.convert(record, fmt, strict)
    except RecordError as err:
        return Failed(err.field, err.reason)
    except Exception as exc:  # a record must never stop the run: it is kept, with why
        why = unreadable(exc)
        return Failed(why.field, why.reason)


def _convert_batch(name: str, fmt: str, strict: bool, raws: list[bytes]) -> list[Outcome]:
    """What a worker process runs: the outcomes of a batch of raw records, in order."""
    import cargowatch.ingest.service  # noqa: F401  (registers the built-in adapters)

    adapter = dict(ADAPTERS)[name]
    return [convert_one(adapter, SourceRecord("", None, raw), fmt, strict) for raw in raws]


_pool: ProcessPoolExecutor | None = None
_pool_size = 0
_lock = threading.Lock()


def _shared_pool(size: int) -> ProcessPoolExecutor:
    """One pool per process, started on first use (spawned: workers hold no open store)."""
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size != size:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            _pool = ProcessPoolExecutor(size, mp_context=multiprocessing.get_context("spawn"))
            _pool_size = size
        return _pool


def _drop_pool() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
            _pool = None


atexit.register(_drop_pool)


def converted(
    adapter: Adapter,
    fmt: str,
    strict: bool,
    records: Iterable[SourceRecord],
    processes: int,
) -> Iterator[tuple[SourceRecord, Outcome]]:
    """Each record with its outcome, in the source's order; converted by `processes` worker
    processes when the adapter allows it and processes > 0, inline otherwise."""
    if processes <= 0 or not getattr(adapter, "parallel", False):
        for record in records:
            yield record, convert_one(adapter, record, fmt, strict)
        return
    pool = _shared_pool(processes)
    in_flight: deque[tuple[list[SourceRecord], Future[list[Outcome]] | None]] = deque()

    def submit(batch: list[SourceRecord]) -> None:
        try:
            raws = [r.raw for r in batch]
            in_flight.append((batch, pool.submit(_convert_batch, adapter.name, fmt, strict, raws)))
        except (BrokenProcessPool, RuntimeError):
            in_flight.append((batch, None))

    def collect() -> Iterator[tuple[SourceRecord, Outcome]]:
        batch, future = in_flight.popleft()
        outcomes: list[Outcome] | None = None
        if future is not None:
            try:
                outcomes = future.result()
            except BrokenProcessPool:
                _drop_pool()
        if outcomes is None:  # the pool broke: this batch inline, the rest as it can
            outcomes = [convert_one(adapter, r, fmt, strict) for r in batch]
        for record, outcome in zip(batch, outcomes, strict=True):
            yield record, (Failed("", record.error) if record.error is not None else outcome)

    batch: list[SourceRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) >= BATCH:
            submit(batch)
            batch = []
            while len(in_flight) > 2 * processes:
                yield from collect()
    if batch:
        submit(batch)
    while in_flight:
        yield from collect()
