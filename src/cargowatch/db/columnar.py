"""Query results as Arrow columns (ADBC), for the paths that read whole tables: scoring and its
statistics read a million trips, and a million rows built as Python tuples first cost seconds
and gigabytes. `docs/decisions.md` has the candidates' figures (ADBC 1.9x the driver's cursor).

PostgreSQL only: ADBC's SQLite driver carries its own copy of the SQLite library, and two
copies in one process on one file do not see each other's locks (SQLite's documentation warns
that this corrupts a store; in our tests a second copy read a stale snapshot). ADBC reads on a
connection of its own, so it is used only where that connection sees exactly what the
caller's would: a transaction that has written nothing yet (no transaction id assigned).
Elsewhere, and if the driver is missing or refuses a query, the caller reads through its own
cursor: `Columnar.frame` then answers None.
"""

from __future__ import annotations

import logging
from typing import Any

import polars as pl
from sqlalchemy import Connection

from cargowatch.config import get_settings

log = logging.getLogger(__name__)


def _uncommitted(conn: Connection) -> bool:
    """Whether conn's transaction holds writes another connection cannot see."""
    assigned = conn.exec_driver_sql("SELECT pg_current_xact_id_if_assigned()").scalar()
    return assigned is not None


def _connect(conn: Connection) -> Any:
    """An ADBC connection to the PostgreSQL server conn is on."""
    import adbc_driver_postgresql.dbapi

    uri = conn.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return adbc_driver_postgresql.dbapi.connect(uri)


class Columnar:
    """Arrow reads for one piece of work (a scoring's context): one ADBC connection, opened at
    the first read and closed with this (a connection costs 50 ms; a context reads ten
    tables). Decided once, at the first read: the caller writes nothing in between."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._usable: bool | None = None
        self._adbc: Any = None

    def __enter__(self) -> Columnar:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the ADBC connection, if one was opened."""
        if self._adbc is not None:
            self._adbc.close()
            self._adbc = None

    def usable(self) -> bool:
        """Whether reads go through ADBC (PostgreSQL, the setting on, nothing uncommitted)."""
        if self._usable is None:
            conn = self.conn
            self._usable = (
                conn.dialect.name == "postgresql"
                and get_settings().columnar_reads
                and not _uncommitted(conn)
            )
        return self._usable

    def frame(self, sql: str, names: list[str]) -> pl.DataFrame | None:
        """The rows of sql (a statement with its values bound) as a frame with these column
        names, read as Arrow; None where the caller must read through its own cursor."""
        if not self.usable():
            return None
        try:
            if self._adbc is None:
                self._adbc = _connect(self.conn)
            with self._adbc.cursor() as cursor:
                cursor.execute(sql)
                table = cursor.fetch_arrow_table()
        except ImportError:
            self._usable = False
            return None
        except Exception as exc:  # a type the driver cannot carry: the cursor reads it instead
            log.info("columnar read refused (%s); reading through the cursor", exc)
            return None
        frame = pl.from_arrow(table.rename_columns(names), rechunk=False)
        assert isinstance(frame, pl.DataFrame)
        del table
        import pyarrow

        pyarrow.default_memory_pool().release_unused()  # hand the read's buffers back now
        return frame
