"""Scoring's whole-table reads: as Arrow (ADBC) on PostgreSQL where a second connection sees
what the caller's does, through the caller's cursor otherwise, and the same context either way."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import Engine, text

from cargowatch.config import get_settings
from cargowatch.db.columnar import Columnar
from cargowatch.db.engine import unit_of_work
from cargowatch.ingest.flows import ingest_paths
from cargowatch.risk import context as C
from cargowatch.risk.context import load_context
from cargowatch.risk.settings import RiskSettings
from cargowatch.simulate.generator import SimConfig, simulate
from tests.builders import org_with_user


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated world with smart containers, badge swipes and inspections."""
    out = tmp_path_factory.mktemp("columnar-world")
    simulate(out, SimConfig(trips=200, seed=5, days=30, smart_share=0.3, scenario_rate=0.05))
    return out


def _frames(ctx: C.Context) -> dict[str, pl.DataFrame]:
    return {k: v for k, v in vars(ctx).items() if isinstance(v, pl.DataFrame)}


def test_the_context_is_the_same_read_as_columns_or_through_the_cursor(
    engine: Engine, world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = org_with_user(engine, "customs", kind="CUSTOMS")
    ingest_paths(principal=p, paths=[world / "data"], engine=engine)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    used: list[bool] = []
    real = Columnar.frame

    def spy(self: Columnar, sql: str, names: list[str]) -> pl.DataFrame | None:
        frame = real(self, sql, names)
        used.append(frame is not None)
        return frame

    monkeypatch.setattr(get_settings(), "columnar_reads", True)
    monkeypatch.setattr(Columnar, "frame", spy)
    monkeypatch.setattr(C, "READ_CHUNK", 333)  # the cursor path in many chunks
    with engine.connect() as conn:
        columnar = load_context(conn, p.org_id, RiskSettings(), now)
    assert any(used) == (engine.dialect.name == "postgresql")
    monkeypatch.setattr(get_settings(), "columnar_reads", False)
    with engine.connect() as conn:
        rows = load_context(conn, p.org_id, RiskSettings(), now)
    assert columnar.trips.height > 150 and columnar.stays.height > columnar.trips.height
    for name, frame in _frames(rows).items():
        assert_frame_equal(_frames(columnar)[name], frame, check_row_order=True)


def test_a_transaction_with_writes_reads_through_its_own_cursor(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "columnar_reads", True)
    p = org_with_user(engine, "customs")
    sql = f"SELECT id, name FROM organisations WHERE id = {p.org_id}"
    with unit_of_work(engine) as s:
        conn = s.connection()
        with Columnar(conn) as columnar:
            first = columnar.frame(sql, ["id", "name"])
            if engine.dialect.name == "sqlite":  # never a second copy of SQLite on one file
                assert first is None
                return
            assert first is not None and first.rows() == [(p.org_id, first["name"][0])]
            again = columnar.frame(sql, ["id", "name"])  # the same connection, read again
            assert again is not None and again.rows() == first.rows()
        rename = text("UPDATE organisations SET name = 'renamed' WHERE id = :i")
        conn.execute(rename, {"i": p.org_id})
        with Columnar(conn) as columnar:
            assert columnar.frame(sql, ["id", "name"]) is None  # it would miss the new name
