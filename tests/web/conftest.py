"""What the web tests share: a simulated world of three organisations, and the app served on
a local port for the browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from cargowatch.auth.service import create_user
from cargowatch.custody.models import Trip
from cargowatch.db.engine import unit_of_work
from cargowatch.ingest.flows import ingest_bytes, ingest_paths
from cargowatch.orgs.service import create_org
from cargowatch.sharing.service import grant
from cargowatch.simulate.generator import SimConfig, simulate
from tests.builders import ndjson
from tests.custody.test_custody import trip_events

PASSWORD = "a-long-test-password"
CHROMIUM = os.environ.get("CARGOWATCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(autouse=True, scope="session")
def _patient_expectations() -> None:
    """The browser tests run beside the PostgreSQL suite on two cores: an assertion about the
    page waits up to 20 s for it to come true (Playwright's 5 s default is a fast machine's)."""
    try:
        from playwright.sync_api import expect
    except ImportError:  # the browser is a dev dependency; the other web tests run without it
        return
    expect.set_options(timeout=20_000)


def people_in(engine: Engine) -> dict[str, Any]:
    from cargowatch.auth.service import principal_for_username

    for slug, kind in (("carrier", "CARRIER"), ("customs", "CUSTOMS"), ("other", "TERMINAL")):
        with unit_of_work(engine) as s:
            create_org(s, actor="test", slug=slug, name=slug.title(), kind=kind)
            create_user(
                s,
                actor="test",
                org_slug=slug,
                username=f"{slug}-user",
                role="analyst",
                password=PASSWORD,
            )
    with unit_of_work(engine) as s:
        return {
            slug: principal_for_username(s, f"{slug}-user")
            for slug in ("carrier", "customs", "other")
        }


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> dict[str, Any]:
    """A carrier's simulated world shared with customs, and another organisation's trip."""
    people = people_in(engine)
    simulate(
        tmp_path / "w",
        SimConfig(
            trips=300,
            seed=8,
            days=30,
            origins=("ECGYE",),
            destinations=("BEANR",),
            scenario_rate=0.05,
        ),
    )
    ingest_paths(principal=people["carrier"], paths=[tmp_path / "w" / "data"], engine=engine)
    with unit_of_work(engine) as s:
        grant(s, principal=people["carrier"], grantee_slug="customs", scope="all-events")
    # Customs holds the cargo declarations of its own (the carrier's manifest, lodged with it)
    manifest = tmp_path / "w" / "data" / "registers" / "manifest.csv"
    ingest_paths(principal=people["customs"], paths=[manifest], engine=engine)
    ingest_bytes(
        principal=people["other"],
        stream=io.BytesIO(ndjson(trip_events(box="MSCU1234566"))),
        source="x",
        engine=engine,
    )
    with unit_of_work(engine) as s:
        other = s.scalar(select(Trip.id).where(Trip.org_id == people["other"].org_id))
    return {**people, "other_trip": other}
