"""Personal data in risk reasons reaches only callers who may read the owner's personal data,
and every read that shows it is audited; the others keep the finding and its weight."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from cargowatch.app import create_app
from cargowatch.audit.models import AuditEntry
from cargowatch.auth.service import create_user
from cargowatch.cli import app as cli
from cargowatch.db.engine import unit_of_work
from cargowatch.ingest.flows import ingest_paths
from cargowatch.risk.models import Assessment
from cargowatch.risk.privacy import PERSONAL_FINDINGS
from cargowatch.risk.service import MIN_POINTS
from cargowatch.sharing.service import grant, grant_personal
from cargowatch.simulate.generator import SimConfig, simulate
from tests.builders import org_with_user, token_for, user_in

PASSWORD = "a-long-test-password"
BADGE = re.compile(r"\bBadge [A-Z0-9-]+ entered")


@pytest.fixture
def insiders(engine: Engine, tmp_path: Path) -> dict[str, Any]:
    """A terminal's world with its badge log, shared (events only) with customs."""
    terminal = org_with_user(engine, "terminal", kind="TERMINAL")
    user_in(engine, "terminal", "terminal-admin", "admin")
    user_in(engine, "terminal", "terminal-viewer", "viewer")
    org_with_user(engine, "customs")
    simulate(tmp_path / "w", SimConfig(trips=300, seed=3, days=30, origins=("ECGYE",),
                                       destinations=("BEANR",), scenario_rate=0.15))  # fmt: skip
    ingest_paths(principal=terminal, paths=[tmp_path / "w" / "data"], engine=engine)
    with unit_of_work(engine) as s:
        grant(s, principal=terminal, grantee_slug="customs", scope="all-events")
        rows = s.execute(select(Assessment.trip_id, Assessment.findings)).all()
    # trips where an odd badge swipe is among the reasons shown (not only a finding)
    exposed = [t for t, f in rows if any(x["rule"] in PERSONAL_FINDINGS
                                         and x.get("score", 0) >= MIN_POINTS
                                         for x in json.loads(f))]  # fmt: skip
    assert exposed, "the world should hold trips exposed to odd badge swipes"
    return {"trip": exposed[0], "terminal": terminal}


def _risk(client: TestClient, token: str, trip: int) -> list[dict[str, Any]]:
    got = client.get(f"/api/v1/trips/{trip}/risk", headers={"Authorization": f"Bearer {token}"})
    assert got.status_code == 200, got.text
    return [f for f in got.json()["findings"] if f["rule"] in PERSONAL_FINDINGS]


def _personal_reads(engine: Engine) -> int:
    with unit_of_work(engine) as s:
        return len(s.scalars(select(AuditEntry.id).where(
            AuditEntry.action == "risk.read-personal")).all())  # fmt: skip


def test_risk_reasons_hide_badges_from_callers_without_the_grant(
    engine: Engine, insiders: dict[str, Any]
) -> None:
    client = TestClient(create_app(engine=engine))
    trip = insiders["trip"]
    before = _personal_reads(engine)
    shown = _risk(client, token_for(engine, "terminal-user"), trip)
    assert shown and all(BADGE.search(f["reason"]) for f in shown)
    assert any("access" in f["evidence"] for f in shown)
    assert _personal_reads(engine) == before + 1  # showing them is audited
    for who in ("terminal-viewer", "customs-user"):
        hidden = _risk(client, token_for(engine, who), trip)
        assert len(hidden) == len(shown)  # the finding and its weight stay
        for f, full in zip(hidden, shown, strict=True):
            assert f["redacted"] and not BADGE.search(f["reason"]) and "access" not in f["evidence"]
            assert "vetting" not in f["reason"] and f["weight"] == full["weight"]
    assert _personal_reads(engine) == before + 1  # redacted reads show nothing to audit
    # the queue, over the API and in the CLI's CSV, hides them too
    token = token_for(engine, "customs-user")
    queue = client.get("/api/v1/targets?limit=300&include_inspected=true&explore=0",
                       headers={"Authorization": f"Bearer {token}"}).json()  # fmt: skip
    reasons = " ".join(r["reason"] for t in queue for r in t["reasons"])
    assert "personal data" in reasons and not BADGE.search(reasons)
    out = CliRunner().invoke(cli, ["--as", "customs-user", "targets", "--limit", "300",
                                   "--include-inspected", "--format", "csv"])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert not BADGE.search(out.output)
    # granted by the terminal's admin, customs analysts see them (and the read is audited)
    with unit_of_work(engine) as s:
        from cargowatch.auth.service import principal_for_username

        admin = principal_for_username(s, "terminal-admin")
        grant_personal(s, principal=admin, grantee_slug="customs", role="analyst")
    assert all(BADGE.search(f["reason"]) for f in _risk(client, token, trip))
    assert _personal_reads(engine) == before + 2


def test_the_trip_page_and_the_queue_page_hide_them_too(
    engine: Engine, insiders: dict[str, Any]
) -> None:
    with unit_of_work(engine) as s:
        create_user(s, actor="test", org_slug="customs", username="officer", role="analyst",
                    password=PASSWORD)  # fmt: skip
    client = TestClient(create_app(engine=engine))
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    client.post("/login", data={"username": "officer", "password": PASSWORD,
                                "csrf": token.group(1)})  # fmt: skip
    page = client.get(f"/trips/{insiders['trip']}")
    assert page.status_code == 200 and "personal data" in page.text
    assert not BADGE.search(page.text)
    queue = client.get("/queue?include_inspected=1")
    assert queue.status_code == 200 and not BADGE.search(queue.text)
