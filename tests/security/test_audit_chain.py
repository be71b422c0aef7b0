"""The audit log's hash chain: a row removed behind a dropped trigger, or changed, is found and
named; admins read the log over the API and the operator from the command line."""

from __future__ import annotations

import itertools

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from typer.testing import CliRunner

from cargowatch.app import create_app
from cargowatch.audit.models import AuditEntry
from cargowatch.audit.service import record, verify
from cargowatch.cli import app as cli
from cargowatch.db.engine import unit_of_work
from tests.builders import org_with_user, token_for, user_in


def _entries(engine: Engine, n: int) -> list[int]:
    with unit_of_work(engine) as s:
        return [
            record(s, actor="test", action="test.step", entity_type="t", entity_id=i,
                   after={"i": i})
            for i in range(n)
        ]  # fmt: skip


def _restore_triggers(engine: Engine) -> None:
    """Put the append-only triggers back (PostgreSQL tests share one database)."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            for verb in ("UPDATE", "DELETE"):
                conn.execute(text(
                    f"CREATE TRIGGER IF NOT EXISTS audit_log_no_{verb.lower()} BEFORE {verb} "
                    "ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
                ))  # fmt: skip
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log"))
            conn.execute(text(
                "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
            ))  # fmt: skip


def _lift_triggers(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))


def test_an_intact_chain_verifies(engine: Engine) -> None:
    ids = _entries(engine, 5)
    with unit_of_work(engine) as s:
        v = verify(s, batch=2)  # pages through the log
        rows = list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert v.ok and v.rows == len(rows) >= 5 and v.head == rows[-1].row_hash
    assert ids == sorted(ids)
    assert all(b.prev_hash == a.row_hash for a, b in itertools.pairwise(rows))


@pytest.mark.parametrize("tamper", ["delete", "update"])
def test_tampering_behind_a_dropped_trigger_is_found(engine: Engine, tamper: str) -> None:
    ids = _entries(engine, 6)
    _lift_triggers(engine)
    try:
        _tamper(engine, tamper, ids)
    finally:
        _restore_triggers(engine)
    with unit_of_work(engine) as s:
        v = verify(s)
    assert not v.ok
    assert v.broken_id == (ids[3] if tamper == "delete" else ids[2])
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1 and f"row {v.broken_id}" in result.output


def _tamper(engine: Engine, tamper: str, ids: list[int]) -> None:
    victim = ids[2]
    with engine.begin() as conn:
        if tamper == "delete":
            conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": victim})
        else:
            conn.execute(text("UPDATE audit_log SET actor = 'someone-else' WHERE id = :i"),
                         {"i": victim})  # fmt: skip


def test_admins_read_and_verify_the_log_over_the_api(engine: Engine) -> None:
    org_with_user(engine, "carrier")
    user_in(engine, "carrier", "boss", "admin")
    admin, analyst = token_for(engine, "boss"), token_for(engine, "carrier-user")
    client = TestClient(create_app(engine=engine))
    got = client.get("/api/v1/audit", headers={"Authorization": f"Bearer {admin}"})
    assert got.status_code == 200
    verified = client.get("/api/v1/audit/verify", headers={"Authorization": f"Bearer {admin}"})
    assert verified.status_code == 200 and verified.json()["ok"] is True
    for path in ("/api/v1/audit", "/api/v1/audit/verify"):
        assert client.get(path, headers={"Authorization": f"Bearer {analyst}"}).status_code == 403
    listed = CliRunner().invoke(cli, ["audit", "list", "--action", "user.create"])
    assert listed.exit_code == 0 and "user.create" in listed.output
    ok = CliRunner().invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0 and "intact" in ok.output
