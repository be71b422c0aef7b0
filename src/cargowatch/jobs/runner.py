"""Running jobs: a registry of handlers by kind (each domain registers its own), one pass
over what is due, and the worker loop that `cargowatch worker` and `serve` run."""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from cargowatch.jobs import service

log = logging.getLogger("cargowatch.jobs")
Handler = Callable[[Engine, int, dict[str, Any]], None]
HANDLERS: dict[str, Handler] = {}
Tick = Callable[[Engine], None]
TICKS: dict[str, Tick] = {}  # checks the worker makes on every pass (overdue work, say)


def tick(name: str) -> Callable[[Tick], Tick]:
    """Register a check the worker runs on every pass, before the due jobs; it must be cheap
    when there is nothing to do, and safe to run from several workers at once."""

    def wrap(fn: Tick) -> Tick:
        TICKS[name] = fn
        return fn

    return wrap


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that does jobs of kind: (engine, org_id, payload) -> None. It must
    be safe to run twice (a job killed half-way is run again from the start)."""

    def wrap(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return wrap


def _load_handlers() -> None:
    import cargowatch.custody.flows
    import cargowatch.ingest.flows
    import cargowatch.referrals.flows
    import cargowatch.risk.flows
    import cargowatch.taxii.schedule
    import cargowatch.trackandtrace.subscriptions  # noqa: F401  (they register their handlers)


def run_pending(
    engine: Engine,
    *,
    org_id: int | None = None,
    kinds: tuple[str, ...] | None = None,
    keys: tuple[str, ...] | None = None,
    limit: int | None = None,
    on_job: Callable[[service.Claimed], None] | None = None,
    raise_errors: bool = False,
) -> tuple[int, int]:
    """Run due jobs (of one organisation) until none is left or limit were run; returns
    (done, failed attempts). A job that fails is queued again with a backoff; with
    raise_errors its error is raised as well (a command that ran the job inline says why)."""
    _load_handlers()
    done = failed = 0
    while limit is None or done + failed < limit:
        job = service.claim(engine, org_id=org_id, kinds=kinds, keys=keys)
        if job is None:
            break
        if on_job is not None:
            on_job(job)
        fn = HANDLERS.get(job.kind)
        try:
            if fn is None:
                raise LookupError(f"no handler for jobs of kind {job.kind!r}")
            fn(engine, job.org_id, job.payload)
        except Exception:
            failed += 1
            status = service.fail(engine, job, traceback.format_exc(limit=8))
            log.warning("job %s (%s) failed, now %s", job.id, job.kind, status)
            if raise_errors:
                raise
            continue
        service.finish(engine, job.id)
        done += 1
    return done, failed


class Worker:
    """A loop that runs due jobs every poll seconds until stopped (serve runs one in a
    thread; `cargowatch worker` in the foreground)."""

    def __init__(
        self,
        engine: Engine,
        poll: float = 2.0,
        *,
        org_id: int | None = None,
        kinds: tuple[str, ...] | None = None,
    ) -> None:
        self.engine = engine
        self.poll = poll
        self.org_id = org_id
        self.kinds = kinds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self, *, once: bool = False) -> None:
        """Run until stopped (or, once, until nothing is due)."""
        while not self._stop.is_set():
            try:
                _load_handlers()
                for name, check in TICKS.items():
                    try:
                        check(self.engine)
                    except Exception:  # one check failing leaves the others and the jobs
                        log.exception("worker check %s failed", name)
                run_pending(self.engine, org_id=self.org_id, kinds=self.kinds)
            except Exception:  # the store is away for a moment: try again after the poll
                log.exception("job worker pass failed")
            if once:
                return
            self._stop.wait(self.poll)

    def start(self) -> None:
        """Run in a daemon thread."""
        self._thread = threading.Thread(target=self.run, name="cargowatch-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the loop to end after the job in hand, and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
