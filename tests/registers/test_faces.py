"""The command line and the API over registers, documents and telemetry."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from cargowatch.app import create_app
from cargowatch.cli import app
from tests.builders import org_with_user, token_for, user_in
from tests.conftest import DATA
from tests.registers.test_registers import FILES

runner = CliRunner()


def _load(engine: Engine, tmp_path: Path) -> None:
    for name in ("parties", "persons", "access"):
        (tmp_path / f"{name}.csv").write_text(FILES[name])
    (tmp_path / "dev.ndjson").write_text(
        json.dumps({"device_id": "TRX-1", "container": "NARU3472484",
                    "ts": "2025-03-01T04:10:00Z", "door": "OPEN", "light_lux": 312.0}) + "\n"
    )  # fmt: skip
    result = runner.invoke(app, ["--as", "terminal-user", "ingest", str(tmp_path),
                                 str(DATA / "eblissuance-v3.0.0-request.json")])  # fmt: skip
    assert result.exit_code == 0, result.output


def test_cli_shows_registers_documents_and_telemetry(engine: Engine, tmp_path: Path) -> None:
    org_with_user(engine, "terminal", kind="TERMINAL")
    _load(engine, tmp_path)
    out = runner.invoke(app, ["--as", "terminal-user", "registers", "access", "--where",
                              "badge_id=B999", "--json"]).output  # fmt: skip
    [row] = [json.loads(line) for line in out.strip().splitlines()]
    assert row["zone"] == "REEFER-RACK-2" and row["flags"] == "unknown badge badge_id=B999"
    out = runner.invoke(app, ["--as", "terminal-user", "documents", "-c", "NARU3472484"]).output
    assert "VET123" in out and "DEHAM" in out
    out = runner.invoke(app, ["--as", "terminal-user", "telemetry", "-c", "NARU3472484"]).output
    assert "TRX-1" in out and "OPEN" in out and "1 readings" in out


def test_api_serves_registers_documents_and_telemetry_to_whom_may_see(
    engine: Engine, tmp_path: Path
) -> None:
    org_with_user(engine, "terminal", kind="TERMINAL")
    user_in(engine, "terminal", "terminal-admin", "admin")
    org_with_user(engine, "customs", kind="CUSTOMS")
    _load(engine, tmp_path)
    client = TestClient(create_app(engine=engine))
    mine = {"Authorization": f"Bearer {token_for(engine, 'terminal-user')}"}
    theirs = {"Authorization": f"Bearer {token_for(engine, 'customs-user')}"}
    page = client.get("/api/v1/registers/access", params={"badge_id": "B100"}, headers=mine)
    assert page.status_code == 200 and page.json()["total"] == 2
    assert client.get("/api/v1/registers/access", headers=theirs).json()["total"] == 0
    assert client.get("/api/v1/registers/parties", headers=theirs).json()["total"] == 0
    assert client.get("/api/v1/registers/nothing", headers=mine).status_code == 422
    docs = client.get("/api/v1/containers/NARU3472484/documents", headers=mine).json()
    assert docs[0]["declared_seals"] == ["VET123"] and docs[0]["port_of_loading"] == "DEHAM"
    assert client.get("/api/v1/containers/NARU3472484/documents", headers=theirs).status_code == 404
    readings = client.get("/api/v1/containers/NARU3472484/telemetry", headers=mine).json()
    assert readings[0]["door"] == "OPEN" and readings[0]["ts"].startswith("2025-03-01T04:10:00")
    assert client.get("/api/v1/containers/NARU3472484/telemetry", headers=theirs).json() == []
    result = runner.invoke(app, ["--as", "terminal-admin", "shares", "grant-personal", "--to",
                                 "customs", "--role", "analyst"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/registers/access", headers=theirs).json()["total"] == 3
