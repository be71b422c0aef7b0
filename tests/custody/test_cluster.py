"""A full custody rebuild computed on a Dask distributed cluster (CARGOWATCH_CLUSTER) builds
exactly the trips and alerts the local build does."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from cargowatch.config import get_settings
from cargowatch.custody import engine as custody_engine
from cargowatch.custody.flows import rebuild
from cargowatch.custody.models import Alert, Trip
from cargowatch.db.engine import unit_of_work
from cargowatch.exceptions import InvalidInput
from cargowatch.ingest.flows import ingest_paths
from cargowatch.simulate.generator import SimConfig, simulate
from tests.builders import org_with_user


def _built(engine: Engine) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with unit_of_work(engine) as s:
        trips = [
            tuple(r)
            for r in s.execute(
                select(
                    Trip.id,
                    Trip.trip_key,
                    Trip.started_at,
                    Trip.ended_at,
                    Trip.origin,
                    Trip.destination,
                    Trip.events,
                    Trip.alerts,
                    Trip.stays,
                ).order_by(Trip.trip_key)
            )
        ]
        alerts = sorted(
            tuple(r)
            for r in s.execute(
                select(Alert.trip_id, Alert.type, Alert.severity, Alert.at, Alert.explanation)
            )
        )
    return trips, alerts  # fmt: skip


def test_a_rebuild_on_a_local_dask_cluster_matches_the_local_one(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = org_with_user(engine, "carrier", kind="CARRIER")
    simulate(tmp_path / "w", SimConfig(trips=120, seed=8, days=20, scenario_rate=0.2))
    ingest_paths(principal=p, paths=[tmp_path / "w" / "data"], engine=engine)
    monkeypatch.setattr(custody_engine, "RANGE_CONTAINERS", 10)  # a dozen ranges
    monkeypatch.setenv("CARGOWATCH_CUSTODY_WORKERS", "1")
    get_settings.cache_clear()
    rebuild(principal=p, engine=engine)
    local = _built(engine)
    assert len(local[0]) > 50 and local[1]
    monkeypatch.setenv("CARGOWATCH_CLUSTER", "local:2")
    get_settings.cache_clear()
    rebuild(principal=p, engine=engine)
    assert _built(engine) == local
    monkeypatch.setenv("CARGOWATCH_CLUSTER", "somewhere")
    get_settings.cache_clear()
    with pytest.raises(InvalidInput, match="CARGOWATCH_CLUSTER"):
        rebuild(principal=p, engine=engine)
    get_settings.cache_clear()
